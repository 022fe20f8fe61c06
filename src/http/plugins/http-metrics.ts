import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../ops/metrics.js'

/**
 * Times every request into `er_http_request_duration_seconds`. The route label is the template
 * Fastify matched (`/api/collections/:name/records/:id`), never the raw URL, so ids cannot
 * explode the series count; a request that matched no route is labelled `unmatched`.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    )
  })
}
