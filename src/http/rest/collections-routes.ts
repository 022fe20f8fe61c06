import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { SchemaService } from '../../services/schema/schema-service.js'
import { contextOf } from '../plugins/request-context.js'
import { nameParams } from './route-schemas.js'

/** `/api/collections[/{name}]`: the schema, for superusers. */
export const collectionsRoutes: FastifyPluginAsync<{
  schema: SchemaService
  auth: AuthService
}> = async (app, { schema, auth }) => {
  app.get('/api/collections', async (request) => ({
    items: await schema.listCollections(await contextOf(request, auth)),
  }))

  app.post('/api/collections', async (request, reply) => {
    const created = await schema.createCollection(await contextOf(request, auth), request.body)
    return reply.status(201).send(created)
  })

  // Dry runs for editors: the errors a create or update would answer, with nothing written.
  app.post('/api/collections/check', async (request, reply) => {
    await schema.checkNewCollection(await contextOf(request, auth), request.body)
    return reply.status(204).send()
  })
  app.post<{ Params: { name: string } }>(
    '/api/collections/:name/check',
    { schema: { params: nameParams } },
    async (request, reply) => {
      await schema.checkCollectionUpdate(
        await contextOf(request, auth),
        request.params.name,
        request.body,
      )
      return reply.status(204).send()
    },
  )

  app.get<{ Params: { name: string } }>(
    '/api/collections/:name',
    { schema: { params: nameParams } },
    async (request) => schema.getCollection(await contextOf(request, auth), request.params.name),
  )

  app.patch<{ Params: { name: string } }>(
    '/api/collections/:name',
    { schema: { params: nameParams } },
    async (request) =>
      schema.updateCollection(await contextOf(request, auth), request.params.name, request.body),
  )

  app.delete<{ Params: { name: string } }>(
    '/api/collections/:name',
    { schema: { params: nameParams } },
    async (request, reply) => {
      await schema.deleteCollection(await contextOf(request, auth), request.params.name)
      return reply.status(204).send()
    },
  )
}
