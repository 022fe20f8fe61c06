import { trace } from '@opentelemetry/api'
import type { FastifyInstance } from 'fastify'
import { requestSpanOf } from './tracing.js'

/**
 * One log line per request, written when the response is sent (Fastify's own two lines, "incoming
 * request" and "request completed", are switched off in `buildServer`):
 *
 *   {"level":30,"reqId":"…","method":"GET","path":"/api/collections/posts/records",
 *    "route":"/api/collections/:name/records","status":200,"durationMs":3.1,
 *    "userId":"…","userCollection":"users","traceId":"…","msg":"request"}
 *
 * The path has no query string: queries may carry filters with personal data or tickets.
 */
export function registerRequestLogging(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const auth = request.engineContext?.auth
    const span = requestSpanOf(request)?.spanContext() ?? trace.getActiveSpan()?.spanContext()
    const status = reply.statusCode
    const line = {
      method: request.method,
      path: request.url.split('?')[0],
      route: request.routeOptions.url ?? null,
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      ...(auth ? { userId: auth.record.id, userCollection: auth.collection.name } : {}),
      ...(span && span.traceFlags !== 0 ? { traceId: span.traceId, spanId: span.spanId } : {}),
    }
    if (status >= 500) request.log.error(line, 'request')
    else request.log.info(line, 'request')
  })
}
