import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Clock } from '../../../core/clock.js'
import { newId } from '../../../core/ids.js'
import type { JobRow, Store } from '../../store/store.js'
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

export interface StoreQueueOptions {
  store: Store
  clock: Clock
  /** How often an idle worker looks for due jobs (default 1000 ms; enqueues here wake it). */
  pollMs?: number
  /** How long a claimed job stays leased without a heartbeat (default 30 000 ms). */
  leaseMs?: number
  /** How long finished jobs (and their idempotency keys) are kept (default 7 days). */
  keepFinishedMs?: number
}

const toInfo = (row: JobRow): JobInfo => ({
  id: row.id,
  name: row.name,
  payload: JSON.parse(row.payload) as unknown,
  state: row.state,
  priority: row.priority,
  attemptsMade: row.attemptsMade,
  maxAttempts: row.maxAttempts,
  runAt: row.runAt,
  lastError: row.lastError,
  created: row.created,
  updated: row.updated,
  finished: row.finished,
})

/**
 * The queue as a table in the store (`_jobs`). Workers lease due rows for `leaseMs` and renew
 * the lease while the handler runs; a worker that dies (kill -9) stops renewing, and once the
 * lease has run out any worker claims the job again. Enqueued with `tx`, the row is part of the
 * write's transaction.
 */
export function createStoreQueue(options: StoreQueueOptions): Queue {
  const { store, clock } = options
  const pollMs = options.pollMs ?? 1000
  const leaseMs = options.leaseMs ?? 30_000
  const keepFinishedMs = options.keepFinishedMs ?? 7 * 24 * 3600 * 1000
  const wakers = new Set<() => void>()
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString()
  // Leases measure a worker's liveness, in real time whatever the engine's clock says.
  const wallIso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString()

  async function enqueue(request: EnqueueRequest): Promise<{ id: string; duplicate: boolean }> {
    const session = request.tx ?? store
    const now = iso()
    const row: JobRow = {
      id: newId(clock.now().getTime()),
      name: request.name,
      payload: JSON.stringify(request.payload ?? null),
      state: 'queued',
      priority: request.priority ?? 0,
      attemptsMade: 0,
      maxAttempts: request.attempts ?? DEFAULT_ATTEMPTS,
      runAt: iso(Math.max(0, request.delayMs ?? 0)),
      leaseOwner: null,
      leaseUntil: null,
      idempotencyKey: request.idempotencyKey ?? null,
      lastError: null,
      created: now,
      updated: now,
      finished: null,
    }
    if (!(await session.jobs.insertJob(row))) {
      const existing = await session.jobs.getJobByKey(request.idempotencyKey ?? '')
      if (existing) return { id: existing.id, duplicate: true }
    }
    // In a transaction the row is not visible until commit: the poll finds it then.
    if (!request.tx && (request.delayMs ?? 0) <= 0) for (const wake of wakers) wake()
    return { id: row.id, duplicate: false }
  }

  function startWorker(worker: WorkerOptions): QueueWorker {
    const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
    const running = new Set<Promise<void>>()
    let stopped = false
    let sleeping: (() => void) | undefined
    // A wake that came while the loop was busy: it looks again instead of sleeping.
    let woken = false
    let lastPrune = 0
    const wake = () => {
      woken = true
      sleeping?.()
    }
    wakers.add(wake)

    async function runOne(row: JobRow): Promise<void> {
      const job: JobAttempt = {
        id: row.id,
        name: row.name,
        payload: JSON.parse(row.payload) as unknown,
        attempt: row.attemptsMade,
        maxAttempts: row.maxAttempts,
        ...(row.attemptsMade === 1 ? { dueAt: row.runAt } : {}),
      }
      if (row.attemptsMade > row.maxAttempts) {
        // Its last attempt's worker died: the lease ran out with no attempt left.
        const error = new Error('The worker running the last attempt stopped (its lease ran out).')
        await store.jobs.settleJob(row.id, owner, {
          state: 'dead',
          now: iso(),
          error: error.message,
        })
        worker.onFailure?.(job, error, true)
        return
      }
      const heartbeat = setInterval(
        () =>
          void store.jobs.extendLease(row.id, owner, wallIso(leaseMs)).catch(() => {
            // The next beat tries again; if the lease runs out, the job runs again elsewhere.
          }),
        Math.max(10, Math.floor(leaseMs / 3)),
      )
      const started = performance.now()
      try {
        await worker.run(job)
        clearInterval(heartbeat)
        await store.jobs.settleJob(row.id, owner, { state: 'done', now: iso() })
        worker.onSuccess?.(job, performance.now() - started)
      } catch (error) {
        clearInterval(heartbeat)
        const dead = row.attemptsMade >= row.maxAttempts
        await store.jobs.settleJob(row.id, owner, {
          state: dead ? 'dead' : 'queued',
          now: iso(),
          error: describeError(error),
          ...(dead ? {} : { runAt: iso(worker.retryDelayMs(row.name, row.attemptsMade)) }),
        })
        worker.onFailure?.(job, error, dead)
      }
    }

    async function loop(): Promise<void> {
      while (!stopped) {
        woken = false
        const free = worker.concurrency - running.size
        let claimed: JobRow[] = []
        if (free > 0) {
          try {
            claimed = await store.jobs.claimJobs(
              owner,
              iso(),
              { now: wallIso(), until: wallIso(leaseMs) },
              free,
            )
            if (Date.now() - lastPrune > 10 * 60_000) {
              lastPrune = Date.now()
              await store.jobs.pruneJobs(iso(-keepFinishedMs))
            }
          } catch {
            // The store is away (restart, failover): try again after a poll interval.
          }
        }
        for (const row of claimed) {
          const task: Promise<void> = runOne(row)
            .catch(() => {
              // Settling failed (store away): the lease runs out and the job runs again.
            })
            .finally(() => {
              running.delete(task)
              wake()
            })
          running.add(task)
        }
        // A full batch may mean more are due: look again at once while there is room.
        if ((claimed.length > 0 && claimed.length === free) || woken) continue
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs)
          sleeping = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        sleeping = undefined
      }
    }

    const looping = loop()
    return {
      async stop() {
        stopped = true
        wakers.delete(wake)
        wake()
        await looping
        await Promise.all(running)
      },
    }
  }

  return {
    kind: 'store',
    enqueue,
    startWorker,
    async get(id) {
      const row = await store.jobs.getJob(id)
      return row ? toInfo(row) : undefined
    },
    async list(query) {
      return (await store.jobs.listJobs(query)).map(toInfo)
    },
    async retry(id) {
      const ok = await store.jobs.retryJob(id, iso())
      if (ok) for (const wake of wakers) wake()
      return ok
    },
    cancel: (id) => store.jobs.cancelJob(id, iso()),
    counts: () => store.jobs.countJobs(),
    async close() {},
  }
}
