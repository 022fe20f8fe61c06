import type { FastifyPluginAsync } from 'fastify'
import { EngineError } from '../../core/errors/index.js'

/** A readiness check: resolves when the dependency is usable, throws (with why) when not. */
export type ReadinessCheck = { name: string; check: () => Promise<void> }

/** `/healthz`: the process serves. `/readyz`: every dependency answers; 503 naming the one that fails. */
export const healthRoutes: FastifyPluginAsync<{ checks: ReadinessCheck[] }> = async (
  app,
  { checks },
) => {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
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
