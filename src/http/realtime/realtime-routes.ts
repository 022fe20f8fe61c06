import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RealtimeHub } from '../../services/realtime/realtime-hub.js'
import type { RealtimeService } from '../../services/realtime/realtime-service.js'
import { bearerTokenOf, contextOf } from '../plugins/request-context.js'

const realtimeQuery = Type.Object({
  topic: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 100 })])),
  filter: Type.Optional(Type.String({ maxLength: 4096 })),
  ticket: Type.Optional(Type.String({ maxLength: 128 })),
  /** For clients that cannot set the `Last-Event-ID` header on their first connection. */
  lastEventId: Type.Optional(Type.String({ maxLength: 20 })),
})

/**
 * `GET /api/realtime` (Server-Sent Events) and `POST /api/realtime/ticket`. Every check happens
 * before the first byte, so a refused subscription is an ordinary problem document; after that
 * the response is handed to the stream, which ends with `event: error` if it must stop.
 */
export const realtimeRoutes: FastifyPluginAsync<{
  realtime: RealtimeService
  hub: RealtimeHub
  auth: AuthService
}> = async (app, { realtime, hub, auth }) => {
  // Open streams would hold `close()` until clients leave; end them first, saying why.
  app.addHook('preClose', async () => {
    hub.closeAll('shutdown', 'The server is shutting down; reconnect with Last-Event-ID.')
  })

  app.post('/api/realtime/ticket', async (request) =>
    realtime.issueTicket(await contextOf(request, auth), bearerToken(request)),
  )

  app.get<{ Querystring: Static<typeof realtimeQuery> }>(
    '/api/realtime',
    { schema: { querystring: realtimeQuery } },
    async (request, reply) => {
      const { topic, filter, ticket, lastEventId } = request.query
      const header = request.headers['last-event-id']
      const subscription = await realtime.subscribe({
        // A malformed Authorization header is refused the same way as on every other route.
        token: ticket === undefined ? await tokenOf(request, auth) : undefined,
        ticket,
        topics: topic === undefined ? [] : Array.isArray(topic) ? topic : [topic],
        filter,
        lastEventId: typeof header === 'string' ? header : lastEventId,
        requestId: String(request.id),
        // As every route sees it: behind ER_TRUST_PROXY hops, the forwarded address.
        client: { address: request.ip },
      })
      reply.hijack()
      const raw = reply.raw
      // Node sends these headers with the first write: a replay's first frame, or the preface
      // below once the hub has attached the stream, so a 200 means "subscribed".
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx would otherwise buffer the stream and deliver events late, in clumps.
        'x-accel-buffering': 'no',
      })
      const { stream, attached } = subscription.open({
        write: (chunk) => void raw.write(chunk),
        bufferedBytes: () => raw.writableLength,
        end: () => raw.end(),
      })
      raw.on('close', () => stream.close())
      // A client gone before the listener was added never fires it: its slot must not leak.
      if (raw.destroyed || request.raw.socket.destroyed) stream.close()
      await attached
      // `retry` tells EventSource how long to wait before reconnecting (ms).
      if (!stream.closed) raw.write('retry: 2000\n: connected\n\n')
    },
  )
}

function bearerToken(request: FastifyRequest): string | undefined {
  return bearerTokenOf(request.headers.authorization ?? '') ?? undefined
}

async function tokenOf(request: FastifyRequest, auth: AuthService): Promise<string | undefined> {
  await contextOf(request, auth)
  return bearerToken(request)
}
