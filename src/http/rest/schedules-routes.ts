import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { JobSchedulesService } from '../../services/jobs/job-schedules-service.js'
import { contextOf } from '../plugins/request-context.js'

const params = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })

/** `/api/schedules`: cron schedules stored in the database, queueing named jobs (superusers). */
export const schedulesRoutes: FastifyPluginAsync<{
  schedules: JobSchedulesService
  auth: AuthService
}> = async (app, { schedules, auth }) => {
  app.get('/api/schedules', async (request) => schedules.list(await contextOf(request, auth)))

  app.post('/api/schedules', async (request, reply) => {
    const created = await schedules.create(await contextOf(request, auth), request.body)
    return reply.status(201).send(created)
  })

  app.get<{ Params: Static<typeof params> }>(
    '/api/schedules/:id',
    { schema: { params } },
    async (request) => schedules.get(await contextOf(request, auth), request.params.id),
  )

  app.patch<{ Params: Static<typeof params> }>(
    '/api/schedules/:id',
    { schema: { params } },
    async (request) =>
      schedules.update(await contextOf(request, auth), request.params.id, request.body),
  )

  app.delete<{ Params: Static<typeof params> }>(
    '/api/schedules/:id',
    { schema: { params } },
    async (request, reply) => {
      await schedules.remove(await contextOf(request, auth), request.params.id)
      return reply.status(204).send()
    },
  )
}
