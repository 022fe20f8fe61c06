/**
 * Engines for the jobs suites, one per queue variant: the store queue on SQLite and on
 * PostgreSQL, and BullMQ on the local Redis (with a SQLite store for its outbox). `another()`
 * opens a second engine on the same database and queue, as another node or worker would.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Clock } from '../../src/core/clock.js'
import type { Queue } from '../../src/adapters/queue/queue.js'
import { createEngine, type Engine, type EngineOptions } from '../../src/services/create-engine.js'
import type { WebhookDeliverySettings } from '../../src/services/webhooks/webhook-delivery.js'
import { availableDialects } from './dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from './test-engine.js'

export type QueueVariant = 'sqlite' | 'postgres' | 'bullmq'

export const redisUrl = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The variants this machine can run: BullMQ when Redis answers. */
export async function queueVariants(): Promise<QueueVariant[]> {
  const variants: QueueVariant[] = await availableDialects()
  const { Redis } = await import('ioredis')
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    await redis.ping()
    variants.push('bullmq')
  } catch {
    if (process.env.ER_REQUIRE_REDIS === '1') throw new Error(`Redis at ${redisUrl} is required`)
    console.warn(`[engineroom tests] SKIPPING BullMQ suites: ${redisUrl} is unreachable.`)
  } finally {
    redis.disconnect()
  }
  return variants
}

export interface JobsEngine extends TestEngine {
  variant: QueueVariant
  /** A second engine on the same database and queue (another node); closed with this one. */
  another(options?: { webhooks?: Partial<WebhookDeliverySettings> }): Promise<Engine>
}

/** A controllable clock: `set` and `advance` move it; it never moves on its own. */
export function manualClock(
  start: Date,
): Clock & { set(d: Date): void; advance(ms: number): void } {
  let current = start.getTime()
  return {
    now: () => new Date(current),
    set: (d) => void (current = d.getTime()),
    advance: (ms) => void (current += ms),
  }
}

export async function createJobsEngine(
  variant: QueueVariant,
  options: {
    clock?: Clock
    pollMs?: number
    leaseMs?: number
    webhooks?: Partial<WebhookDeliverySettings>
    /** More engine options, for this engine and every `another()`. */
    engine?: Partial<EngineOptions>
  } = {},
): Promise<JobsEngine> {
  const dialect = variant === 'postgres' ? 'postgres' : 'sqlite'
  const prefix = `er-test-${randomBytes(4).toString('hex')}:`
  const queues: Queue[] = []
  const openQueue = async (store: Engine['store']): Promise<Queue | undefined> => {
    if (variant !== 'bullmq') return undefined
    const { createBullmqQueue } = await import('../../src/adapters/queue/bullmq/bullmq-queue.js')
    const queue = createBullmqQueue({
      url: redisUrl,
      prefix,
      store,
      relayPollMs: options.pollMs ?? 50,
      ...(options.clock ? { clock: options.clock } : {}),
    })
    queues.push(queue)
    return queue
  }
  const jobs = {
    pollMs: options.pollMs ?? 50,
    leaseMs: options.leaseMs ?? 30_000,
    scheduleCheckMs: 3_600_000,
  }
  const late: { queue?: Queue } = {}
  const base = await createTestEngine(dialect, {
    engine: {
      ...(options.clock ? { clock: options.clock } : {}),
      jobs,
      webhooks: { pollMs: 100, ...options.webhooks },
      // The queue needs the store the engine is built on: set once it exists (below).
      ...(variant === 'bullmq' ? { queue: lateQueue(() => late.queue) } : {}),
      ...options.engine,
    },
  })
  late.queue = await openQueue(base.engine.store)
  const others: Engine[] = []
  return {
    ...base,
    variant,
    async another(more = {}) {
      const store = await base.openAnotherStore()
      const engine = await createEngine({
        store,
        migrationsDir: join(base.dir, 'migrations-2'),
        passwords: testPasswords,
        schemaRecheckMs: 0,
        jobs,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(variant === 'bullmq' ? { queue: await openQueue(store) } : {}),
        ...options.engine,
        ...more,
      })
      others.push(engine)
      return engine
    },
    async close() {
      for (const engine of others) await engine.close()
      await base.close()
      if (variant === 'bullmq') {
        const { Redis } = await import('ioredis')
        const redis = new Redis(redisUrl)
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys)
        await redis.quit()
      }
    },
  }
}

/** A queue that forwards to one made later (the engine must exist before its BullMQ queue). */
function lateQueue(get: () => Queue | undefined): Queue {
  const q = () => {
    const queue = get()
    if (!queue) throw new Error('queue not ready')
    return queue
  }
  return {
    kind: 'bullmq',
    enqueue: (r) => q().enqueue(r),
    startWorker: (o) => q().startWorker(o),
    get: (id) => q().get(id),
    list: (query) => q().list(query),
    retry: (id) => q().retry(id),
    cancel: (id) => q().cancel(id),
    counts: () => q().counts(),
    close: async () => get()?.close(),
  }
}

/** Waits until `check` returns a truthy value (polling), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
