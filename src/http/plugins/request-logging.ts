import { trace } from '@opentelemetry/api'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { requestSpanOf } from './tracing.js'

/**
 * The request's log line, written when the response is sent (Fastify's own two lines, "incoming
 * request" and "request completed", are switched off in `buildServer`):
 *
 *   {"level":30,"reqId":"…","method":"GET","path":"/api/collections/posts/records",
 *    "route":"/api/collections/:name/records","status":200,"durationMs":3.1,
 *    "userId":"…","userCollection":"users","traceId":"…","msg":"request"}
 *
 * The path has no query string: queries may carry filters with personal data or tickets.
 * Called from the one response hook in response-observers.ts; a line below the logger's level is not
 * built at all.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode
  const level = status >= 500 ? 'error' : 'info'
  const log = request.log
  // Pino's; a logger without it gets every line.
  const enabled = (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled
  if (enabled !== undefined && !enabled.call(log, level)) return
  const auth = request.engineContext?.auth
  const span = requestSpanOf(request)?.spanContext() ?? trace.getActiveSpan()?.spanContext()
  const line = {
    method: request.method,
    path: request.url.split('?')[0],
    route: request.routeOptions.url ?? null,
    status,
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
    ...(auth ? { userId: auth.record.id, userCollection: auth.collection.name } : {}),
    ...(span && span.traceFlags !== 0 ? { traceId: span.traceId, spanId: span.spanId } : {}),
  }
  log[level](line, 'request')
}
