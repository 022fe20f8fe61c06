import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type { Metrics } from './metrics.js'

export interface MetricsRoutesOptions {
  metrics: Metrics
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  token?: string | undefined
  /** On a dedicated metrics port the binding is the protection: any client may scrape. */
  anyClient?: boolean
}

/**
 * `GET /metrics` in the Prometheus text format. Who may scrape:
 * - with a token configured, whoever presents it (compared in constant time);
 * - without one, only a client on this machine that came through no proxy (loopback socket and
 *   no `Forwarded`/`X-Forwarded-For` header), because a reverse proxy on the same host would
 *   otherwise make every outside request look local.
 * Everyone else gets a 404, so the endpoint's existence is not advertised.
 */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (
  app,
  { metrics, token, anyClient },
) => {
  const expected = token === undefined ? undefined : digest(token)
  app.get(
    '/metrics',
    // Load shedding must not blind the monitoring that would show why it sheds.
    { config: { pressureHandler: () => undefined, rateLimit: false } },
    async (request, reply) => {
      if (!(anyClient && !expected) && !mayScrape(request, expected)) {
        throw new EngineError('ER_ROUTE_NOT_FOUND', 'No route GET /metrics.')
      }
      const body = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(body)
    },
  )
}

function mayScrape(request: FastifyRequest, expected: Buffer | undefined): boolean {
  if (expected) {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')
    // Hashing first gives equal lengths, which timingSafeEqual needs, without leaking the length.
    return match !== null && timingSafeEqual(digest(match[1] as string), expected)
  }
  const address = request.socket.remoteAddress ?? ''
  const loopback =
    address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
  return loopback && !request.headers['x-forwarded-for'] && !request.headers.forwarded
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
