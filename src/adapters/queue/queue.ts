/**
 * The queue port: durable background jobs. Two adapters implement it: a table in the store
 * (`store/store-queue.ts`, the embedded mode) and BullMQ on Redis (`bullmq/bullmq-queue.ts`,
 * when `REDIS_URL` is set). Delivery is at least once: a job whose worker dies runs again, so a
 * handler that must take effect once uses an idempotency key or its own dedupe.
 */
import type { JobState, StoreSession } from '../store/store.js'

export type { JobState }

export interface EnqueueRequest {
  name: string
  /** Any JSON value. */
  payload: unknown
  /** Not before this many milliseconds from now. */
  delayMs?: number
  /** Lower runs first; 0 (the default) is the highest, as in BullMQ. */
  priority?: number
  /** A second job with a key already queued (or finished and not yet pruned) is the first one. */
  idempotencyKey?: string
  /** Attempts before the job is dead (default: its definition's, else 5). */
  attempts?: number
  /**
   * The transaction of a write: the job exists if and only if that write commits. On the store
   * queue the row is written in it; on BullMQ an outbox row is, handed to Redis after commit.
   */
  tx?: StoreSession
}

/** A job as the admin API shows it. */
export interface JobInfo {
  id: string
  name: string
  payload: unknown
  state: JobState
  priority: number
  attemptsMade: number
  maxAttempts: number
  /** When it may run next (queued), or when it was due. */
  runAt: string
  lastError: string | null
  created: string
  updated: string
  finished: string | null
}

/** One attempt of a job, as its handler sees it. */
export interface JobAttempt {
  id: string
  name: string
  payload: unknown
  /** 1 for the first attempt. */
  attempt: number
  maxAttempts: number
  /** On the first attempt: when the job became due (enqueued, or its delay ended). */
  dueAt?: string
}

export interface WorkerOptions {
  /** Jobs run at once by this worker. */
  concurrency: number
  /** Runs one attempt; a throw (or rejection) fails it. */
  run(job: JobAttempt): Promise<void>
  /** How long to wait before the next attempt after `attempt` failed (backoff with jitter). */
  retryDelayMs(name: string, attempt: number): number
  /** Told of a failed attempt or a dead job (for logs and metrics). */
  onFailure?(job: JobAttempt, error: unknown, dead: boolean): void
  onSuccess?(job: JobAttempt, durationMs: number): void
}

export interface QueueWorker {
  /** Stops taking jobs and waits for the running ones to end. */
  stop(): Promise<void>
}

export interface JobQuery {
  state?: JobState
  name?: string
  limit: number
  /** The id of the last job of the previous page (newest first). */
  before?: string
}

export interface Queue {
  readonly kind: 'store' | 'bullmq'
  enqueue(request: EnqueueRequest): Promise<{ id: string; duplicate: boolean }>
  startWorker(options: WorkerOptions): QueueWorker
  get(id: string): Promise<JobInfo | undefined>
  list(query: JobQuery): Promise<JobInfo[]>
  /** Queues a dead (or canceled) job again with fresh attempts; false for any other state. */
  retry(id: string): Promise<boolean>
  /** Cancels a job that has not started; false for any other state. */
  cancel(id: string): Promise<boolean>
  counts(): Promise<Record<JobState, number>>
  close(): Promise<void>
}

/** Attempts when neither the enqueue nor the definition says. */
export const DEFAULT_ATTEMPTS = 5

/**
 * Exponential backoff with jitter: `base · 2^(attempt-1)`, capped at `max`, then a random point
 * in its upper half ("equal jitter"), so failed jobs do not retry in lock step.
 *
 * @example
 *   backoffDelayMs(3, 1000, 60_000) // between 2000 and 4000
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exponential / 2 + random() * (exponential / 2))
}

/** A failure as stored and shown: the message, bounded (never a stack: it may hold paths). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
}
