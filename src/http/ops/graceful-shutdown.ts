import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
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
 * Graceful shutdown, in order: (1) readiness turns 503 for `drainMs` while serving normally, so
 * load balancers take the node out; (2) `beforeClose` steps; (3) listeners close: no new
 * connection is accepted, requests already received finish, and any further request on an open
 * connection is served and answered with `Connection: close` (not 503: a proxy never retries a
 * POST it has sent, so a 503 would be a failed write);
 * connections still busy after `timeoutMs` are cut; (4) `afterClose` steps; (5) exit. A second
 * signal exits at once with status 1.
 *
 * Connections are deliberately not told to close during the drain: that would make clients
 * reconnect, and a connection still in the kernel's accept queue when the listener closes is
 * reset by the kernel — a failed request the server never saw. Keeping them open means their
 * next request reaches the server and gets an answer.
 *
 * @example
 *   const shutdown = createShutdown({ apps: [app], drainMs: 0, timeoutMs: 10_000, log, exit: process.exit })
 *   process.on('SIGTERM', () => shutdown.begin('SIGTERM'))
 */
export function createShutdown(options: ShutdownOptions) {
  const connections = trackConnections(options.apps)
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
      const forced = await closeWithin(options.apps, connections, options.timeoutMs)
      if (forced) log.warn({ timeoutMs: options.timeoutMs }, 'shutdown: cut connections in flight')
      const failed = await runSteps(options.afterClose ?? [], log)
      log.info('shutdown complete')
      options.exit(forced || failed ? 1 : 0)
    },
  }
}

/** The servers' open connections, from the moment shutdown is set up (right after listen). */
function trackConnections(apps: FastifyInstance[]): Set<Socket> {
  const open = new Set<Socket>()
  for (const app of apps) {
    app.server.on('connection', (socket: Socket) => {
      open.add(socket)
      socket.once('close', () => open.delete(socket))
    })
  }
  return open
}

/** Whether a response is being produced on the connection (Node clears this when it ends). */
function inFlight(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: unknown })._httpMessage != null
}

/**
 * Closes the listeners and waits for the connections to end. Idle connections are not cut at
 * once: a client may have connected just before the listener closed with its request still on
 * the wire, and cutting that socket would reset a request the server had accepted. Instead each
 * remaining request is answered (with `Connection: close`), and a connection is closed only once
 * it has been idle for a whole grace period: one whose response just went out gets that long for
 * the client's next request, rather than a reset while that request is on its way. Everything
 * still open at the deadline is cut.
 */
async function closeWithin(
  apps: FastifyInstance[],
  connections: Set<Socket>,
  timeoutMs: number,
): Promise<boolean> {
  const graceMs = Math.min(1000, Math.floor(timeoutMs / 2))
  // Node ≥ 19's server.close() also closes idle keep-alive connections at once, resetting any
  // request a client was sending on one at that instant; the sweeper below does it later.
  for (const app of apps) app.server.closeIdleConnections = () => {}
  const busySinceSweep = new WeakSet<Socket>()
  for (const socket of connections) if (inFlight(socket)) busySinceSweep.add(socket)
  const markBusy = (request: IncomingMessage) => busySinceSweep.add(request.socket)
  for (const app of apps) app.server.on('request', markBusy)
  const sweeper = setInterval(() => {
    for (const socket of connections) {
      if (inFlight(socket)) busySinceSweep.add(socket)
      else if (busySinceSweep.has(socket)) busySinceSweep.delete(socket)
      else socket.destroy()
    }
  }, graceMs)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs)
  })
  const closed = Promise.all(apps.map((app) => app.close())).then(() => false as const)
  const forced = await Promise.race([closed, deadline])
  clearTimeout(timer)
  clearInterval(sweeper)
  for (const app of apps) app.server.off('request', markBusy)
  if (forced) {
    for (const app of apps) app.server.closeAllConnections()
    await closed
  }
  return forced
}

/** A step may not hold the exit back longer than this (say, flushing to a collector that is down). */
const STEP_TIMEOUT_MS = 5000

async function runSteps(steps: ShutdownStep[], log: FastifyBaseLogger): Promise<boolean> {
  let failed = false
  for (const step of steps) {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        step.run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no end within ${STEP_TIMEOUT_MS} ms`)),
            STEP_TIMEOUT_MS,
          )
        }),
      ])
      clearTimeout(timer)
    } catch (err) {
      clearTimeout(timer)
      failed = true
      log.error({ err, step: step.name }, 'shutdown step failed')
    }
  }
  return failed
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
