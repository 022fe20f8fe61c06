import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import { contextOf } from '../plugins/request-context.js'
import { nameParams } from './route-schemas.js'

type NameParams = Static<typeof nameParams>
const keyParams = Type.Object({
  name: nameParams.properties.name,
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
})
const ownerQuery = Type.Object({
  record: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
})

/** `/api/collections/{name}/auth/api-keys[/{id}]`: create (key shown once), list, revoke. */
export const authApiKeyRoutes: FastifyPluginAsync<{ auth: AuthService }> = async (
  app,
  { auth },
) => {
  const base = '/api/collections/:name/auth/api-keys'

  app.post<{ Params: NameParams }>(
    base,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const identity = (await contextOf(request, auth)).auth
      const created = await auth.apiKeys.create(request.params.name, identity, request.body)
      // The one response that carries the key must never be stored by a cache on the way.
      reply.header('cache-control', 'no-store')
      return reply.status(201).send(created)
    },
  )

  app.get<{ Params: NameParams; Querystring: Static<typeof ownerQuery> }>(
    base,
    { schema: { params: nameParams, querystring: ownerQuery } },
    async (request) =>
      auth.apiKeys.list(
        request.params.name,
        (await contextOf(request, auth)).auth,
        request.query.record,
      ),
  )

  app.delete<{ Params: Static<typeof keyParams>; Querystring: Static<typeof ownerQuery> }>(
    `${base}/:id`,
    { schema: { params: keyParams, querystring: ownerQuery } },
    async (request, reply) => {
      const identity = (await contextOf(request, auth)).auth
      await auth.apiKeys.revoke(
        request.params.name,
        identity,
        request.params.id,
        request.query.record,
      )
      return reply.status(204).send()
    },
  )
}
