import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { invalidField } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { WebhooksService } from '../../services/webhooks/webhooks-service.js'
import { contextOf } from '../plugins/request-context.js'

const id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
const hookParams = Type.Object({ id })
const deliveryParams = Type.Object({ id, delivery: id })
const pageQuery = Type.Object({
  perPage: Type.Optional(Type.String({ maxLength: 4 })),
  before: Type.Optional(Type.String({ maxLength: 64 })),
})

/** `/api/webhooks`: subscriptions, their delivery log and replay (superusers). */
export const webhooksRoutes: FastifyPluginAsync<{
  webhooks: WebhooksService
  auth: AuthService
}> = async (app, { webhooks, auth }) => {
  app.get('/api/webhooks', async (request) => webhooks.list(await contextOf(request, auth)))

  app.post('/api/webhooks', async (request, reply) => {
    const created = await webhooks.create(await contextOf(request, auth), request.body)
    // The one answer that carries the secret must not be kept by a cache on the way.
    reply.header('cache-control', 'no-store')
    return reply.status(201).send(created)
  })

  app.get<{ Params: Static<typeof hookParams> }>(
    '/api/webhooks/:id',
    { schema: { params: hookParams } },
    async (request) => webhooks.get(await contextOf(request, auth), request.params.id),
  )

  app.patch<{ Params: Static<typeof hookParams> }>(
    '/api/webhooks/:id',
    { schema: { params: hookParams } },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return webhooks.update(await contextOf(request, auth), request.params.id, request.body)
    },
  )

  app.delete<{ Params: Static<typeof hookParams> }>(
    '/api/webhooks/:id',
    { schema: { params: hookParams } },
    async (request, reply) => {
      await webhooks.remove(await contextOf(request, auth), request.params.id)
      return reply.status(204).send()
    },
  )

  app.get<{ Params: Static<typeof hookParams>; Querystring: Static<typeof pageQuery> }>(
    '/api/webhooks/:id/deliveries',
    { schema: { params: hookParams, querystring: pageQuery } },
    async (request) => {
      const { perPage, before } = request.query
      const limit = perPage === undefined ? 50 : Number(perPage)
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw invalidField('perPage', 'range', 'perPage is a whole number from 1 to 500')
      }
      return webhooks.deliveries(await contextOf(request, auth), request.params.id, {
        limit,
        ...(before ? { before } : {}),
      })
    },
  )

  app.post<{ Params: Static<typeof deliveryParams> }>(
    '/api/webhooks/:id/deliveries/:delivery/replay',
    { schema: { params: deliveryParams } },
    async (request, reply) => {
      const { id: hook, delivery } = request.params
      const queued = await webhooks.replay(await contextOf(request, auth), hook, delivery)
      return reply.status(202).send(queued)
    },
  )
}
