import type { IncomingMessage } from 'node:http'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { FilesService } from '../../services/files/files-service.js'
import { contextOf } from '../plugins/request-context.js'

const PATH = '/api/files/uploads'

/**
 * Resumable uploads with the tus protocol (1.0.0: creation, creation-with-upload, termination,
 * expiration) at `/api/files/uploads/`, served by @tus/server. Each request is authenticated and
 * authorised here first (create: a signed-in caller who may write the collection, within the
 * field's maxSize; continue/read/cancel: the upload's owner only), then handed to tus as is.
 * Finished uploads are attached to a record with `"<field>": "tus:<id>"`.
 *
 * @example
 *   new tus.Upload(file, { endpoint: '/api/files/uploads/', headers: { authorization: `Bearer ${token}` },
 *     metadata: { collection: 'videos', field: 'clip', filename: file.name } }).start()
 */
export const tusRoutes: FastifyPluginAsync<{ files: FilesService; auth: AuthService }> = async (
  app,
  { files, auth },
) => {
  /** Metadata the server adds to an upload being created, by its request. */
  const granted = new WeakMap<IncomingMessage, Record<string, string>>()
  // Built on the first tus request: @tus/server and its file store are megabytes of memory that
  // a server nobody sends resumable uploads to need not hold from startup.
  const load = async () => {
    const { Metadata, Server } = await import('@tus/server')
    const server = new Server({
      path: PATH,
      datastore: await files.tus.datastore(),
      relativeLocation: true,
      respectForwardedHeaders: false,
      // Browsers on other origins are governed by the API's CORS settings, not by tus's own.
      allowedOrigins: [],
      async onUploadCreate(req, upload) {
        const node = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req
        const extra = node ? granted.get(node) : undefined
        if (!extra) throw { status_code: 403, body: 'Upload not authorised.\n' }
        return { metadata: { ...upload.metadata, ...extra } }
      },
    })
    return { server, parseMetadata: Metadata.parse }
  }
  let loaded: ReturnType<typeof load> | undefined
  const tus = () => (loaded ??= load())

  // tus bodies are raw bytes: left unread for @tus/server to stream to disk.
  app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) =>
    done(null),
  )

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'OPTIONS') {
      const ctx = await contextOf(request, auth)
      const id = (request.params as { id?: string }).id
      if (request.method === 'POST' && id === undefined) {
        const length = request.headers['upload-length']
        const metadata = (await tus()).parseMetadata(
          typeof request.headers['upload-metadata'] === 'string'
            ? request.headers['upload-metadata']
            : undefined,
        )
        const size =
          typeof length === 'string' && /^\d{1,16}$/.test(length) ? Number(length) : undefined
        granted.set(request.raw, await files.tus.authorizeCreate(ctx, metadata, size))
      } else if (id !== undefined) {
        await files.tus.authorizeAccess(ctx, id)
      }
    }
    reply.hijack()
    await (await tus()).server.handle(request.raw, reply.raw)
  }
  app.route({ method: ['POST', 'OPTIONS'], url: PATH, handler, config: { idempotency: false } })
  app.route({
    method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
    url: `${PATH}/:id`,
    handler,
    // tus has its own resumption protocol (Upload-Offset); a kept answer would break it.
    config: { idempotency: false },
  })
}
