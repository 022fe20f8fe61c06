import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Counter } from 'prom-client'
import type { RequestContext } from '../../services/context.js'
import type { Metrics } from '../ops/metrics.js'

/** Read replicas as the HTTP layer uses them (built in main.ts from `DATABASE_REPLICA_URLS`). */
export interface ReplicaReadOptions {
  /** Runs `work` with its record reads sent to a replica. */
  onReplica<T>(work: () => Promise<T>): Promise<T>
  /** Record reads sent to the primary and to replicas since start. */
  counts(): { primary: number; replica: number }
  /** Callers that wrote recently, pinned to the primary (shared through Redis when set). */
  pins: { pin(caller: string): void; isPinned(caller: string): Promise<boolean> }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Whom a pin is for: the signed-in record (whatever credential), else the client address. */
function callerOf(request: FastifyRequest, ctx: RequestContext | undefined): string {
  const auth = ctx?.auth
  return auth ? `${auth.collection.id}:${String(auth.record.id)}` : `ip:${request.ip}`
}

/**
 * REST record lists and gets by ordinary callers go to a replica; a superuser's, and those of a
 * caller that wrote within the pin time (`ER_REPLICA_PIN_SECONDS`), go to the primary, so
 * a caller always reads its own writes. Every successful write pins its caller. Reports
 * `er_store_reads_total{target="primary"|"replica"}`.
 *
 * Registered only when replicas are configured: without them no hook runs and reads never
 * leave the primary.
 */
export function registerReplicaReads(
  app: FastifyInstance,
  metrics: Metrics,
  options: ReplicaReadOptions,
) {
  if (!metrics.registry.getSingleMetric('er_store_reads_total')) {
    new Counter({
      name: 'er_store_reads_total',
      help: 'Record reads (lists, counts, gets) by where they ran: primary or replica.',
      labelNames: ['target'],
      registers: [metrics.registry],
      collect() {
        const counts = options.counts()
        this.reset()
        this.inc({ target: 'primary' }, counts.primary)
        this.inc({ target: 'replica' }, counts.replica)
      },
    })
  }
  // After the answer: a write that failed changed nothing the caller must see.
  app.addHook('onResponse', async (request, reply) => {
    if (READ_METHODS.has(request.method) || reply.statusCode >= 400) return
    options.pins.pin(callerOf(request, request.engineContext))
  })
  return async (
    request: FastifyRequest,
    ctx: RequestContext,
    compute: () => Promise<unknown>,
  ): Promise<{ value: unknown; lagging: boolean }> => {
    if (ctx.auth?.isSuperuser || (await options.pins.isPinned(callerOf(request, ctx)))) {
      return { value: await compute(), lagging: false }
    }
    return { value: await options.onReplica(compute), lagging: true }
  }
}
