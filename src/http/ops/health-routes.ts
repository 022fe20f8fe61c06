import type { FastifyPluginAsync } from 'fastify'
import { EngineError } from '../../core/errors/index.js'

/** A readiness check: resolves when the dependency is usable, throws (with why) when not. */
export type ReadinessCheck = { name: string; check: () => Promise<void> }

export interface HealthRoutesOptions {
  checks: ReadinessCheck[]
  /** True once a shutdown began: readiness fails so load balancers stop sending traffic. */
  isShuttingDown?: () => boolean
}

/** Probes answer even when the server sheds load or a client exhausted its rate budget. */
const PROBE_CONFIG = { config: { pressureHandler: () => undefined, rateLimit: false } }

/**
 * `/healthz` (liveness): the process serves; nothing else is checked, so a database outage never
 * makes an orchestrator restart healthy processes. `/readyz` (readiness): every dependency
 * answers within 2 s; otherwise 503 naming the one that fails.
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (
  app,
  { checks, isShuttingDown },
) => {
  app.get('/healthz', PROBE_CONFIG, async () => ({ status: 'ok' }))

  app.get('/readyz', PROBE_CONFIG, async (_request, reply) => {
    if (isShuttingDown?.()) {
      reply.header('retry-after', '5')
      throw new EngineError('ER_UNAVAILABLE', 'Not ready: shutting down.', {
        extra: { checks: [{ name: 'shutdown', ok: false, error: 'shutting down' }] },
      })
    }
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), 2000)
          return { name, ok: true }
        } catch (error) {
          return {
            name,
            ok: false,
            error: error instanceof Error ? error.message.slice(0, 200) : 'failed',
          }
        }
      }),
    )
    const failing = results.filter((r) => !r.ok)
    if (failing.length === 0) return { status: 'ready', checks: results }
    reply.header('retry-after', '5')
    throw new EngineError(
      'ER_UNAVAILABLE',
      `Not ready: ${failing.map((f) => f.name).join(', ')} failing.`,
      { extra: { checks: results } },
    )
  })
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
