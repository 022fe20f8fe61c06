import type { Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import { runBatch } from '../../services/records/batch.js'
import type { RecordsService } from '../../services/records/records-service.js'
import { contextOf } from '../plugins/request-context.js'
import { listQuery, nameParams, recordParams, viewQuery } from './route-schemas.js'

type NameParams = Static<typeof nameParams>
type RecordParams = Static<typeof recordParams>

/** `/api/collections/{name}/records[/{id}]` and `/api/batch`. */
export const recordsRoutes: FastifyPluginAsync<{
  records: RecordsService
  auth: AuthService
}> = async (app, { records, auth }) => {
  app.get<{ Params: NameParams; Querystring: Static<typeof listQuery> }>(
    '/api/collections/:name/records',
    { schema: { params: nameParams, querystring: listQuery } },
    async (request) =>
      records.list(await contextOf(request, auth), request.params.name, request.query),
  )

  app.post<{ Params: NameParams }>(
    '/api/collections/:name/records',
    { schema: { params: nameParams } },
    async (request, reply) => {
      const created = await records.create(
        await contextOf(request, auth),
        request.params.name,
        request.body,
      )
      return reply.status(201).send(created)
    },
  )

  app.get<{ Params: RecordParams; Querystring: Static<typeof viewQuery> }>(
    '/api/collections/:name/records/:id',
    { schema: { params: recordParams, querystring: viewQuery } },
    async (request) =>
      records.view(
        await contextOf(request, auth),
        request.params.name,
        request.params.id,
        request.query,
      ),
  )

  app.patch<{ Params: RecordParams }>(
    '/api/collections/:name/records/:id',
    { schema: { params: recordParams } },
    async (request) =>
      records.update(
        await contextOf(request, auth),
        request.params.name,
        request.params.id,
        request.body,
      ),
  )

  app.delete<{ Params: RecordParams }>(
    '/api/collections/:name/records/:id',
    { schema: { params: recordParams } },
    async (request, reply) => {
      await records.remove(await contextOf(request, auth), request.params.name, request.params.id)
      return reply.status(204).send()
    },
  )

  app.post('/api/batch', async (request) =>
    runBatch(records, await contextOf(request, auth), request.body),
  )
}
