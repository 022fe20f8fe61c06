import type {
  EnqueueRequest,
  JobAttempt,
  JobInfo,
  JobState,
  Queue,
  QueueWorker,
} from '../../adapters/queue/queue.js'
import { backoffDelayMs, DEFAULT_ATTEMPTS } from '../../adapters/queue/queue.js'
import type { Store, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import { requireAdminScope } from '../admin-access.js'
import type { RequestContext } from '../context.js'
import { createJobSchedulesService } from './job-schedules-service.js'
import { createScheduler } from './scheduler.js'

/** A job's handler: the payload it was enqueued with, and which attempt this is. */
export type JobHandler = (payload: unknown, job: JobAttempt) => Promise<void> | void

export interface JobDefinitionOptions {
  /** Attempts before the job is dead (default 5). */
  attempts?: number
  /** First retry delay; each next one doubles, with jitter (default 1000 ms). */
  backoffMs?: number
  /** Longest retry delay (default 1 hour). */
  maxBackoffMs?: number
}

export interface EnqueueOptions {
  delay?: number
  priority?: number
  idempotencyKey?: string
  attempts?: number
  /** The write's transaction: the job exists if and only if the write commits. */
  tx?: StoreSession
}

export interface JobsServiceOptions {
  queue: Queue
  store: Store
  clock: Clock
  /** How often due cron ticks are looked for (default 1000 ms). */
  scheduleCheckMs?: number
  onError?(error: unknown, message: string): void
  /** Told of each attempt's outcome (metrics). */
  onOutcome?(name: string, outcome: 'completed' | 'failed' | 'dead', durationMs?: number): void
}

export type JobsService = ReturnType<typeof createJobsService>

const MAX_PAYLOAD_BYTES = 512 * 1024
const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/
/** Job names under this prefix run a schedule's handler. */
const CRON_PREFIX = 'cron:'

/**
 * Background jobs on the configured queue: handlers defined by name, enqueued from anywhere
 * (in a write's transaction with `tx`), run by workers inside `serve` or `engineroom worker`,
 * retried with exponential backoff and jitter, dead-lettered with their last error. Cron
 * schedules queue one job per tick (see scheduler.ts).
 *
 * @example
 *   engine.jobs.define('welcome-mail', async (payload) => sendWelcome(payload))
 *   await engine.records.transaction(ctx, async (tx) => {
 *     await engine.jobs.enqueue('welcome-mail', { user: id }, { tx, idempotencyKey: `welcome:${id}` })
 *   })
 */
export function createJobsService(options: JobsServiceOptions) {
  const { queue, store, clock } = options
  const definitions = new Map<string, { handler: JobHandler; options: JobDefinitionOptions }>()
  const workers: QueueWorker[] = []
  type OutcomeListener = NonNullable<JobsServiceOptions['onOutcome']>
  const listeners = new Set<OutcomeListener>(options.onOutcome ? [options.onOutcome] : [])
  const told: OutcomeListener = (name, outcome, ms) => {
    for (const listener of listeners) listener(name, outcome, ms)
  }
  const scheduler = createScheduler({
    store,
    clock,
    checkMs: options.scheduleCheckMs,
    onError: (error) => options.onError?.(error, 'jobs: checking cron schedules failed'),
    enqueueTick: async (tx, schedule, tick) => {
      await queue.enqueue({
        name: `${CRON_PREFIX}${schedule}`,
        payload: { schedule, tick },
        idempotencyKey: `${CRON_PREFIX}${schedule}:${tick}`,
        attempts: definitions.get(`${CRON_PREFIX}${schedule}`)?.options.attempts ?? 1,
        tx,
      })
    },
    enqueueStoredTick: async (tx, schedule, tick) => {
      await queue.enqueue({
        name: schedule.job,
        payload: JSON.parse(schedule.payload) as unknown,
        idempotencyKey: `schedule:${schedule.id}:${tick}`,
        attempts: definitions.get(schedule.job)?.options.attempts ?? DEFAULT_ATTEMPTS,
        tx,
      })
    },
  })
  const storedSchedules = createJobSchedulesService({
    store,
    clock,
    isDefined: (job) => definitions.has(job),
    reservedPrefix: CRON_PREFIX,
  })

  function define(name: string, handler: JobHandler, opts: JobDefinitionOptions = {}): void {
    if (!NAME_PATTERN.test(name)) {
      throw invalidField(
        'name',
        'pattern',
        `job names are 1–100 of A-Z a-z 0-9 _ . : - ("${name}")`,
      )
    }
    definitions.set(name, { handler, options: opts })
  }

  async function enqueue(
    name: string,
    payload: unknown,
    opts: EnqueueOptions = {},
  ): Promise<{ id: string; duplicate: boolean }> {
    if (!NAME_PATTERN.test(name)) {
      throw invalidField(
        'name',
        'pattern',
        `job names are 1–100 of A-Z a-z 0-9 _ . : - ("${name}")`,
      )
    }
    const text = JSON.stringify(payload ?? null)
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
      throw invalidField(
        'payload',
        'too_large',
        `a job payload is at most ${MAX_PAYLOAD_BYTES} bytes`,
      )
    }
    if (opts.idempotencyKey !== undefined && !/^.{1,200}$/s.test(opts.idempotencyKey)) {
      throw invalidField('idempotencyKey', 'length', 'an idempotency key is 1–200 characters')
    }
    const request: EnqueueRequest = {
      name,
      payload: JSON.parse(text) as unknown,
      attempts: opts.attempts ?? definitions.get(name)?.options.attempts ?? DEFAULT_ATTEMPTS,
      ...(opts.delay !== undefined ? { delayMs: opts.delay } : {}),
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
      ...(opts.tx ? { tx: opts.tx } : {}),
    }
    return queue.enqueue(request)
  }

  /**
   * Runs `handler` at each tick of `cron` in the time zone `tz` (default UTC), once across
   * every node and worker.
   *
   * @example
   *   engine.jobs.schedule('nightly', '0 3 * * *', async () => prune(), { tz: 'Europe/Paris' })
   */
  function schedule(
    name: string,
    cron: string,
    handler: (tick: { schedule: string; tick: string }) => Promise<void> | void,
    opts: { tz?: string; attempts?: number } = {},
  ): void {
    scheduler.add(name, cron, opts.tz ?? 'UTC')
    define(
      `${CRON_PREFIX}${name}`,
      (payload) => handler(payload as { schedule: string; tick: string }),
      {
        attempts: opts.attempts ?? 1,
      },
    )
  }

  /** Told how long each job waited for its first attempt (metrics: queue latency). */
  const waitListeners = new Set<(name: string, waitMs: number) => void>()

  async function run(job: JobAttempt): Promise<void> {
    if (job.dueAt !== undefined && waitListeners.size > 0) {
      const waited = Math.max(0, clock.now().getTime() - Date.parse(job.dueAt))
      for (const listener of waitListeners) listener(job.name, waited)
    }
    const definition = definitions.get(job.name)
    if (!definition) throw new Error(`No handler for job "${job.name}" is defined on this node.`)
    await definition.handler(job.payload, job)
  }

  /** Starts a worker with this many jobs at once, and the cron checks. */
  function startWorkers(concurrency: number): void {
    workers.push(
      queue.startWorker({
        concurrency: Math.max(1, concurrency),
        run,
        retryDelayMs: (name, attempt) => {
          const def = definitions.get(name)?.options
          return backoffDelayMs(attempt, def?.backoffMs ?? 1000, def?.maxBackoffMs ?? 3600_000)
        },
        onSuccess: (job, ms) => told(job.name, 'completed', ms),
        onFailure: (job, error, dead) => {
          told(job.name, dead ? 'dead' : 'failed')
          if (dead) options.onError?.(error, `jobs: "${job.name}" ${job.id} is dead`)
        },
      }),
    )
    scheduler.start()
  }

  async function mustExist(id: string): Promise<JobInfo> {
    const job = await queue.get(id)
    if (!job) throw new EngineError('ER_JOB_NOT_FOUND', `No job "${id}".`)
    return job
  }

  return {
    define,
    enqueue,
    schedule,
    startWorkers,
    /** Tells `listener` of every attempt's outcome on this process (metrics). */
    onOutcome(listener: OutcomeListener): void {
      listeners.add(listener)
    },
    /** Tells `listener` how long each job waited from due to its first attempt's start. */
    onWait(listener: (name: string, waitMs: number) => void): void {
      waitListeners.add(listener)
    },
    /** The schedules and the queue adapter in use. */
    scheduler,
    /** `/api/schedules`: cron schedules stored in the database (superusers). */
    storedSchedules,
    queue,
    /** `GET /api/jobs?state=&name=&perPage=&before=` (superusers). */
    async list(
      ctx: RequestContext,
      query: { state?: JobState; name?: string; limit: number; before?: string },
    ): Promise<{ items: JobInfo[]; nextBefore: string | null }> {
      requireAdminScope(ctx, 'list')
      const items = await queue.list(query)
      const last = items.at(-1)
      return { items, nextBefore: items.length === query.limit && last ? last.id : null }
    },
    async get(ctx: RequestContext, id: string): Promise<JobInfo> {
      requireAdminScope(ctx, 'view')
      return mustExist(id)
    },
    /** A dead or canceled job queued again with fresh attempts. */
    async retry(ctx: RequestContext, id: string): Promise<JobInfo> {
      requireAdminScope(ctx, 'update')
      const job = await mustExist(id)
      if (!(await queue.retry(id))) {
        throw new EngineError(
          'ER_JOB_STATE',
          `Job "${id}" is ${job.state}; only dead or canceled jobs can be retried.`,
        )
      }
      return mustExist(id)
    },
    async cancel(ctx: RequestContext, id: string): Promise<JobInfo> {
      requireAdminScope(ctx, 'delete')
      const job = await mustExist(id)
      if (!(await queue.cancel(id))) {
        throw new EngineError(
          'ER_JOB_STATE',
          `Job "${id}" is ${job.state}; only a queued job can be canceled.`,
        )
      }
      // BullMQ removes a canceled job; the store queue keeps it as canceled.
      return (await queue.get(id)) ?? { ...job, state: 'canceled' }
    },
    async stop(): Promise<void> {
      await scheduler.stop()
      await Promise.all(workers.splice(0).map((w) => w.stop()))
    },
  }
}
