import { createHash } from 'node:crypto'
import { Queue as BullQueue, Worker, type Job, type JobsOptions, type JobType } from 'bullmq'
import { Redis } from 'ioredis'
import { closeRedis } from '../../redis/redis-client.js'
import { systemClock, type Clock } from '../../../core/clock.js'
import { newId } from '../../../core/ids.js'
import type { JobState, Store } from '../../store/store.js'
import {
  DEFAULT_ATTEMPTS,
  describeError,
  type EnqueueRequest,
  type JobAttempt,
  type JobInfo,
  type Queue,
  type QueueWorker,
  type WorkerOptions,
} from '../queue.js'

export interface BullmqQueueOptions {
  url: string
  /** Prepended to every key (`<prefix>bull:jobs:…`), so deployments sharing a Redis stay apart. */
  prefix: string
  /** The store whose `_job_outbox` holds jobs enqueued in transactions. */
  store: Store
  clock?: Clock
  /** How often the outbox is handed to Redis (default 250 ms; enqueues here wake it). */
  relayPollMs?: number
  /** How long a worker holds a job without renewing its lock (default 30 000 ms). */
  leaseMs?: number
  /** How long finished jobs (and so their idempotency keys) are kept (default 7 days). */
  keepFinishedMs?: number
}

const QUEUE_NAME = 'jobs'

/** BullMQ's states for each of the port's. A failed BullMQ job has no attempt left: dead. */
const STATE_TYPES: Record<JobState, JobType[]> = {
  queued: ['waiting', 'delayed', 'prioritized', 'waiting-children'],
  active: ['active'],
  done: ['completed'],
  dead: ['failed'],
  canceled: [],
}

function stateOf(bullState: string): JobState {
  for (const [state, types] of Object.entries(STATE_TYPES)) {
    if ((types as string[]).includes(bullState)) return state as JobState
  }
  return 'queued'
}

/**
 * A job id that is the same for the same idempotency key (BullMQ ignores an add whose id
 * exists, which makes the key work), and time-ordered otherwise. BullMQ refuses ':' in ids.
 */
function jobIdFor(idempotencyKey: string | undefined, now: number): string {
  if (idempotencyKey === undefined) return newId(now)
  return `k-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`
}

/**
 * The queue on BullMQ (Redis). Delays, priorities, attempts with the engine's backoff, a lock
 * renewed while a job runs (a dead worker's job is found stalled and runs again), and failed
 * jobs kept as the dead-letter state with their reason.
 *
 * A job enqueued in a write's transaction cannot go to Redis before the write commits (a
 * rollback would leave it there) nor after (a crash in between would lose it): it is written to
 * the store's `_job_outbox` in the transaction and handed to BullMQ after commit by a relay on
 * every node. The hand-off uses the row's id as the job id, so a row handed over twice (a crash
 * before its delete, or two nodes at once) is still one job.
 */
export function createBullmqQueue(options: BullmqQueueOptions): Queue {
  const { store } = options
  const clock = options.clock ?? systemClock
  const prefix = `${options.prefix}bull`
  const leaseMs = options.leaseMs ?? 30_000
  const keepSeconds = Math.floor((options.keepFinishedMs ?? 7 * 24 * 3600 * 1000) / 1000)
  const connections: Redis[] = []
  const connect = () => {
    // BullMQ's blocking commands need `maxRetriesPerRequest: null`.
    const redis = new Redis(options.url, { maxRetriesPerRequest: null })
    redis.on('error', () => {})
    connections.push(redis)
    return redis
  }
  const queue = new BullQueue(QUEUE_NAME, { connection: connect(), prefix })
  queue.on('error', () => {})

  function jobOptions(request: Omit<EnqueueRequest, 'tx' | 'payload' | 'name'>, jobId: string) {
    const opts: JobsOptions = {
      jobId,
      attempts: request.attempts ?? DEFAULT_ATTEMPTS,
      backoff: { type: 'engineroom' },
      removeOnComplete: { age: keepSeconds },
      removeOnFail: false,
      ...(request.delayMs ? { delay: Math.max(0, request.delayMs) } : {}),
      ...(request.priority ? { priority: request.priority } : {}),
    }
    return opts
  }

  // The relay: outbox rows to BullMQ, then deleted.
  let relaying: Promise<void> | undefined
  let relayAgain = false
  const relayTimer = setInterval(() => void relay(), options.relayPollMs ?? 250)
  relayTimer.unref()

  function relay(): Promise<void> {
    if (relaying) {
      relayAgain = true
      return relaying
    }
    relaying = (async () => {
      do {
        relayAgain = false
        const rows = await store.jobs.readOutbox(100)
        for (const row of rows) {
          const request = JSON.parse(row.options) as EnqueueRequest
          await queue.add(row.name, JSON.parse(row.payload), jobOptions(request, row.id))
        }
        await store.jobs.deleteOutbox(rows.map((r) => r.id))
        if (rows.length === 100) relayAgain = true
      } while (relayAgain)
    })()
      .catch(() => {
        // Redis or the store is away: the rows stay and the next round hands them over.
      })
      .finally(() => {
        relaying = undefined
      })
    return relaying
  }

  async function enqueue(request: EnqueueRequest): Promise<{ id: string; duplicate: boolean }> {
    const id = jobIdFor(request.idempotencyKey, clock.now().getTime())
    const { tx, name, payload, ...rest } = request
    if (tx) {
      const inserted = await tx.jobs.insertOutbox({
        id,
        name,
        payload: JSON.stringify(payload ?? null),
        options: JSON.stringify(rest),
        created: clock.now().toISOString(),
      })
      // Not visible before commit; the relay's poll hands it over if this is too early. (No
      // Redis call here: the transaction, and the write lock it may hold, would wait on it.)
      setTimeout(() => void relay(), 5).unref()
      return { id, duplicate: !inserted }
    }
    if (request.idempotencyKey !== undefined && (await queue.getJob(id))) {
      return { id, duplicate: true }
    }
    await queue.add(name, payload ?? null, jobOptions(rest, id))
    return { id, duplicate: false }
  }

  /** `bullState` read before the job's fields: a final state then comes with final fields. */
  function toInfo(job: Job, bullState: string): JobInfo {
    const state = stateOf(bullState)
    const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null)
    const created = iso(job.timestamp) ?? new Date(0).toISOString()
    return {
      id: job.id ?? '',
      name: job.name,
      payload: job.data as unknown,
      state,
      priority: job.opts.priority ?? 0,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      runAt: iso(job.timestamp + (job.delay ?? 0)) ?? created,
      lastError: job.failedReason || null,
      created,
      updated: iso(job.finishedOn ?? job.processedOn ?? job.timestamp) ?? created,
      finished: state === 'done' || state === 'dead' ? iso(job.finishedOn) : null,
    }
  }

  function startWorker(worker: WorkerOptions): QueueWorker {
    const attemptOf = (job: Job): JobAttempt => {
      // A stalled run (its worker died) counts as started, not as made.
      const attempt = Math.max(job.attemptsMade + 1, job.attemptsStarted)
      return {
        id: job.id ?? '',
        name: job.name,
        payload: job.data as unknown,
        attempt,
        maxAttempts: job.opts.attempts ?? 1,
        ...(attempt === 1
          ? { dueAt: new Date(job.timestamp + (job.delay ?? 0)).toISOString() }
          : {}),
      }
    }
    const started = new Map<string, number>()
    const bull = new Worker(
      QUEUE_NAME,
      async (job: Job) => {
        started.set(job.id ?? '', performance.now())
        await worker.run(attemptOf(job))
      },
      {
        connection: connect(),
        prefix,
        concurrency: worker.concurrency,
        lockDuration: leaseMs,
        // A dead worker's job is looked for as often as its lock would have been renewed.
        stalledInterval: leaseMs,
        maxStalledCount: 2,
        settings: {
          backoffStrategy: (attemptsMade, _type, _error, job) =>
            worker.retryDelayMs(job?.name ?? '', attemptsMade),
        },
      },
    )
    bull.on('error', () => {})
    bull.on('completed', (job) => {
      const begun = started.get(job.id ?? '')
      started.delete(job.id ?? '')
      worker.onSuccess?.(attemptOf(job), begun === undefined ? 0 : performance.now() - begun)
    })
    bull.on('failed', (job, error) => {
      if (!job) return
      started.delete(job.id ?? '')
      const dead = job.attemptsMade >= (job.opts.attempts ?? 1)
      worker.onFailure?.(
        { ...attemptOf(job), attempt: job.attemptsMade },
        describeError(error),
        dead,
      )
    })
    return {
      async stop() {
        await bull.close()
      },
    }
  }

  return {
    kind: 'bullmq',
    enqueue,
    startWorker,
    async get(id) {
      const state = await queue.getJobState(id)
      const job = await queue.getJob(id)
      return job ? toInfo(job, state) : undefined
    },
    async list(query) {
      const types = query.state
        ? STATE_TYPES[query.state]
        : (Object.values(STATE_TYPES).flat() as JobType[])
      if (types.length === 0) return []
      // BullMQ pages by position, not by id: the newest 1000 of the states are looked at.
      const jobs = await queue.getJobs(types, 0, 999, false)
      const picked = jobs
        .filter((j) => (query.name ? j.name === query.name : true))
        .sort((a, b) => b.timestamp - a.timestamp || (b.id ?? '').localeCompare(a.id ?? ''))
      const start = query.before ? picked.findIndex((j) => j.id === query.before) + 1 : 0
      return Promise.all(
        picked.slice(start, start + query.limit).map(async (j) => toInfo(j, await j.getState())),
      )
    },
    async retry(id) {
      const job = await queue.getJob(id)
      if (!job || (await job.getState()) !== 'failed') return false
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
      return true
    },
    async cancel(id) {
      const job = await queue.getJob(id)
      if (!job || stateOf(await job.getState()) !== 'queued') return false
      // BullMQ has no canceled state: the job is removed (and no longer listed).
      await job.remove()
      return true
    },
    async counts() {
      const counts = await queue.getJobCounts(...(Object.values(STATE_TYPES).flat() as JobType[]))
      const total = (state: JobState) =>
        STATE_TYPES[state].reduce((sum, type) => sum + (counts[type] ?? 0), 0)
      return {
        queued: total('queued'),
        active: total('active'),
        done: total('done'),
        dead: total('dead'),
        canceled: 0,
      }
    },
    async close() {
      clearInterval(relayTimer)
      await relaying
      await queue.close()
      await Promise.all(connections.map((c) => closeRedis(c)))
    },
  }
}
