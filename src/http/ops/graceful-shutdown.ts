import type { FastifyBaseLogger, FastifyInstance } from 'fastify'

/** A named piece of work run during shutdown; a failure is logged and the shutdown goes on. */
export interface ShutdownStep {
  name: string
  run(): Promise<void>
}

export interface ShutdownOptions {
  /** Servers to stop accepting on and drain (the API, and a metrics port if any). */
  apps: FastifyInstance[]
  /** Time to keep serving, with readiness failing, so load balancers take the node out. */
  drainMs: number
  /** Time allowed for requests in flight once the listeners close; then connections are cut. */
  timeoutMs: number
  /**
   * Run after draining, before the listeners close: the hook point for long-lived work that
   * would otherwise hold connections open forever (realtime streams, the outbox dispatcher).
   */
  beforeClose?: ShutdownStep[]
  /** Run once no request is in flight: close the store, Redis, flush traces. */
  afterClose?: ShutdownStep[]
  log: FastifyBaseLogger
  exit(code: number): void
}

/**
 * Graceful shutdown, in order: (1) readiness turns 503 and every response says
 * `Connection: close`, for `drainMs`; (2) `beforeClose` steps; (3) listeners close: no new
 * connection is accepted, requests already received finish (Fastify answers any new request on
 * an open connection with 503); connections still busy after `timeoutMs` are cut; (4)
 * `afterClose` steps; (5) exit. A second signal exits at once with status 1.
 *
 * @example
 *   const shutdown = createShutdown({ apps: [app], drainMs: 0, timeoutMs: 10_000, log, exit: process.exit })
 *   process.on('SIGTERM', () => shutdown.begin('SIGTERM'))
 */
export function createShutdown(options: ShutdownOptions) {
  let started = false
  const { log } = options
  return {
    isShuttingDown: () => started,
    async begin(signal: string): Promise<void> {
      if (started) {
        log.warn({ signal }, 'second signal: exiting now')
        options.exit(1)
        return
      }
      started = true
      log.info({ signal, drainMs: options.drainMs }, 'shutting down: draining')
      if (options.drainMs > 0) await sleep(options.drainMs)
      await runSteps(options.beforeClose ?? [], log)
      const forced = await closeWithin(options.apps, options.timeoutMs)
      if (forced) log.warn({ timeoutMs: options.timeoutMs }, 'shutdown: cut connections in flight')
      const failed = await runSteps(options.afterClose ?? [], log)
      log.info('shutdown complete')
      options.exit(forced || failed ? 1 : 0)
    },
  }
}

/** Registers the drain behaviour on an app: while shutting down, responses close their connection. */
export function registerDrainHeaders(app: FastifyInstance, isShuttingDown: () => boolean): void {
  app.addHook('onSend', async (_request, reply) => {
    // Clients then open a fresh connection, which the load balancer sends to another node.
    if (isShuttingDown()) reply.header('connection', 'close')
  })
}

async function closeWithin(apps: FastifyInstance[], timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs)
  })
  const closed = Promise.all(apps.map((app) => app.close())).then(() => false as const)
  const forced = await Promise.race([closed, deadline])
  clearTimeout(timer)
  if (forced) {
    for (const app of apps) app.server.closeAllConnections()
    await closed
  }
  return forced
}

async function runSteps(steps: ShutdownStep[], log: FastifyBaseLogger): Promise<boolean> {
  let failed = false
  for (const step of steps) {
    try {
      await step.run()
    } catch (err) {
      failed = true
      log.error({ err, step: step.name }, 'shutdown step failed')
    }
  }
  return failed
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
