import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../ops/metrics.js'
import { logRequest } from './request-logging.js'

/**
 * What is recorded of every answered request, in one callback hook (each hook Fastify runs, and
 * each promise an async one makes, is paid on every request):
 * - `er_http_request_duration_seconds`, labelled with the route template Fastify matched
 *   (`/api/collections/:name/records/:id`), never the raw URL, so ids cannot explode the series
 *   count; a request that matched no route is labelled `unmatched`;
 * - the request's log line (request-logging.ts), when a logger is configured.
 */
export function registerResponseObservers(
  app: FastifyInstance,
  options: { metrics: Metrics; logging: boolean },
): void {
  const { httpDuration } = options.metrics
  const { logging } = options
  app.addHook('onResponse', (request, reply, done) => {
    httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    )
    if (logging) logRequest(request, reply)
    done()
  })
}
