import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { FilesService } from '../../services/files/files-service.js'
import { contextOf } from '../plugins/request-context.js'
import { sendDownload } from './file-responses.js'

const fileParams = Type.Object({
  collection: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
  record: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  name: Type.String({ maxLength: 200 }),
})
const fileQuery = Type.Object({
  thumb: Type.Optional(Type.String({ maxLength: 20 })),
  format: Type.Optional(Type.String({ maxLength: 10 })),
  token: Type.Optional(Type.String({ maxLength: 1024 })),
  download: Type.Optional(Type.String({ maxLength: 10 })),
})

/** `GET /api/files/{collection}/{record}/{name}` and `POST /api/files/token`. */
export const filesRoutes: FastifyPluginAsync<{ files: FilesService; auth: AuthService }> = async (
  app,
  { files, auth },
) => {
  app.get<{ Params: Static<typeof fileParams>; Querystring: Static<typeof fileQuery> }>(
    '/api/files/:collection/:record/:name',
    { schema: { params: fileParams, querystring: fileQuery } },
    async (request, reply) => {
      const { collection, record, name } = request.params
      const { thumb, format, token, download } = request.query
      const ctx = await contextOf(request, auth)
      const file = await files.download(ctx, {
        collection,
        recordId: record,
        name,
        thumb,
        format,
        token,
      })
      const attachment = download !== undefined && download !== '0' && download !== 'false'
      return sendDownload(request, reply, file, attachment)
    },
  )

  app.post('/api/files/token', async (request) => files.issueToken(await contextOf(request, auth)))
}
