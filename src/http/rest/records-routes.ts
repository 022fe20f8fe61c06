import type { Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import { runBatch } from '../../services/records/batch.js'
import type { RecordsService } from '../../services/records/records-service.js'
import type { FilesService } from '../../services/files/files-service.js'
import { multipartParts } from '../files/multipart-parts.js'
import { contextOf } from '../plugins/request-context.js'
import type { CachedRead } from './cached-reads.js'
import { listQuery, nameParams, recordParams, viewQuery } from './route-schemas.js'

type NameParams = Static<typeof nameParams>
type RecordParams = Static<typeof recordParams>

/** `/api/collections/{name}/records[/{id}]` and `/api/batch`. */
export const recordsRoutes: FastifyPluginAsync<{
  records: RecordsService
  auth: AuthService
  /** With file storage, creates and updates also take multipart/form-data (files + fields). */
  files?: FilesService | undefined
  /** Reads go through it: response cache, ETag / If-None-Match, Cache-Control. */
  cachedRead: CachedRead
}> = async (app, { records, auth, files, cachedRead }) => {
  app.get<{ Params: NameParams; Querystring: Static<typeof listQuery> }>(
    '/api/collections/:name/records',
    { schema: { params: nameParams, querystring: listQuery } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const { name } = request.params
      return cachedRead(request, reply, ctx, { collection: name, rule: 'list' }, () =>
        records.list(ctx, name, request.query),
      )
    },
  )

  app.post<{ Params: NameParams }>(
    '/api/collections/:name/records',
    { schema: { params: nameParams } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const { name } = request.params
      if (files && request.isMultipart()) {
        const sent = await files.receive(ctx, name, { action: 'create' }, multipartParts(request))
        return reply
          .status(201)
          .send(await records.create(ctx, name, sent.body, undefined, sent.uploads))
      }
      const created = await records.create(ctx, name, request.body)
      return reply.status(201).send(created)
    },
  )

  app.get<{ Params: RecordParams; Querystring: Static<typeof viewQuery> }>(
    '/api/collections/:name/records/:id',
    { schema: { params: recordParams, querystring: viewQuery } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const { name, id } = request.params
      return cachedRead(request, reply, ctx, { collection: name, rule: 'view' }, () =>
        records.view(ctx, name, id, request.query),
      )
    },
  )

  app.patch<{ Params: RecordParams }>(
    '/api/collections/:name/records/:id',
    { schema: { params: recordParams } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      const { name, id } = request.params
      if (files && request.isMultipart()) {
        const target = { action: 'update' as const, id }
        const sent = await files.receive(ctx, name, target, multipartParts(request))
        return records.update(ctx, name, id, sent.body, undefined, sent.uploads)
      }
      return records.update(ctx, name, id, request.body)
    },
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
