import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { JobsService } from '../../services/jobs/jobs-service.js'
import { invalidField } from '../../core/errors/index.js'
import { contextOf } from '../plugins/request-context.js'

const idParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_:.-]{1,200}$' }) })
const listQuery = Type.Object({
  state: Type.Optional(
    Type.Union(['queued', 'active', 'done', 'dead', 'canceled'].map((s) => Type.Literal(s))),
  ),
  name: Type.Optional(Type.String({ maxLength: 100 })),
  perPage: Type.Optional(Type.String({ maxLength: 4 })),
  before: Type.Optional(Type.String({ maxLength: 200 })),
})

/** `/api/jobs`: list, view, retry and cancel background jobs (superusers). */
export const jobsRoutes: FastifyPluginAsync<{ jobs: JobsService; auth: AuthService }> = async (
  app,
  { jobs, auth },
) => {
  app.get<{ Querystring: Static<typeof listQuery> }>(
    '/api/jobs',
    { schema: { querystring: listQuery } },
    async (request) => {
      const { state, name, perPage, before } = request.query
      const limit = perPage === undefined ? 50 : Number(perPage)
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw invalidField('perPage', 'range', 'perPage is a whole number from 1 to 500')
      }
      return jobs.list(await contextOf(request, auth), {
        limit,
        ...(state ? { state: state as 'queued' } : {}),
        ...(name ? { name } : {}),
        ...(before ? { before } : {}),
      })
    },
  )

  app.get<{ Params: Static<typeof idParams> }>(
    '/api/jobs/:id',
    { schema: { params: idParams } },
    async (request) => jobs.get(await contextOf(request, auth), request.params.id),
  )

  app.post<{ Params: Static<typeof idParams> }>(
    '/api/jobs/:id/retry',
    { schema: { params: idParams } },
    async (request) => jobs.retry(await contextOf(request, auth), request.params.id),
  )

  app.post<{ Params: Static<typeof idParams> }>(
    '/api/jobs/:id/cancel',
    { schema: { params: idParams } },
    async (request) => jobs.cancel(await contextOf(request, auth), request.params.id),
  )
}
