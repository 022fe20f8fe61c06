/**
 * The store's tables for background work and webhooks (part of the store port; see store.ts).
 * Times are ISO-8601 UTC strings, which order as the instants they name.
 */

/** Where a job is: waiting its turn (or its retry), running, finished, given up, or canceled. */
export type JobState = 'queued' | 'active' | 'done' | 'dead' | 'canceled'

export interface JobRow {
  id: string
  name: string
  /** JSON text. */
  payload: string
  state: JobState
  /** Lower runs first (0 is the default and the highest), as in BullMQ. */
  priority: number
  /** Attempts started so far (a claim counts one). */
  attemptsMade: number
  maxAttempts: number
  /** Not before this instant (a delay, or a retry's backoff). */
  runAt: string
  leaseOwner: string | null
  /** Past this instant the worker is presumed dead and the job may be claimed again. */
  leaseUntil: string | null
  idempotencyKey: string | null
  /** The last failure's message (a dead job's reason). */
  lastError: string | null
  created: string
  updated: string
  finished: string | null
}

/** A job written in a transaction while the queue lives in Redis, handed over after commit. */
export interface JobOutboxRow {
  id: string
  name: string
  payload: string
  /** JSON of the enqueue options (delay, priority, attempts, idempotency key). */
  options: string
  created: string
}

/** A cron schedule made through the admin API: queues `job` with `payload` at each tick. */
export interface JobScheduleRow {
  id: string
  name: string
  cron: string
  tz: string
  job: string
  /** JSON text. */
  payload: string
  enabled: boolean
  /** Ticks from this instant on count (creation, or the last change of cron, tz or enabling). */
  since: string
  created: string
  updated: string
}

/** A webhook subscription as stored; the secrets are encrypted by the service. */
export interface WebhookRow {
  id: string
  url: string
  collection: string
  actions: string[]
  filter: string | null
  enabled: boolean
  secret: string
  previousSecret: string | null
  previousExpires: string | null
  /** Deliveries given up on in a row (reset by a success). */
  failures: number
  disabledReason: string | null
  disabledAt: string | null
  created: string
  updated: string
}

/** One attempt to deliver one message to one webhook. */
export interface DeliveryRow {
  id: string
  webhookId: string
  /** The `webhook-id` header: the same for every attempt and replay of a message. */
  messageId: string
  attempt: number
  outcome: 'delivered' | 'failed' | 'refused'
  /** The full JSON body sent (what a replay sends again). */
  body: string
  /** The request as sent: method, URL and headers (signature excluded), as text. */
  request: string
  responseStatus: number | null
  /** The first bytes of the response body. */
  response: string
  durationMs: number
  error: string | null
  created: string
}

export interface JobStore {
  /** Inserts the job; false (nothing written) when its idempotency key is taken. */
  insertJob(row: JobRow): Promise<boolean>
  getJob(id: string): Promise<JobRow | undefined>
  getJobByKey(idempotencyKey: string): Promise<JobRow | undefined>
  /**
   * Leases up to `limit` due jobs to `owner` until `leaseUntil` and counts an attempt on each:
   * queued jobs whose time has come and active jobs whose lease ran out, lowest priority number
   * first. Two workers never get the same job (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's
   * single writer). `now` is the engine's clock (delays, backoff); `lease` is wall-clock time,
   * as a worker's liveness is.
   */
  claimJobs(
    owner: string,
    now: string,
    lease: { now: string; until: string },
    limit: number,
  ): Promise<JobRow[]>
  /** Moves the lease on; false when the worker no longer holds the job. */
  extendLease(id: string, owner: string, leaseUntil: string): Promise<boolean>
  /** Ends a leased job (done, dead, or queued again for `runAt`); false when not held by `owner`. */
  settleJob(
    id: string,
    owner: string,
    outcome: { state: 'done' | 'dead' | 'queued'; now: string; runAt?: string; error?: string },
  ): Promise<boolean>
  /** Newest first; `before` is the id of the last job of the previous page. */
  listJobs(query: {
    state?: JobState
    name?: string
    limit: number
    before?: string
  }): Promise<JobRow[]>
  /** A dead or canceled job queued again with fresh attempts; false for any other state. */
  retryJob(id: string, now: string): Promise<boolean>
  /** A queued job canceled; false for any other state. */
  cancelJob(id: string, now: string): Promise<boolean>
  /** Deletes done and canceled jobs finished before `before`; returns how many. */
  pruneJobs(before: string): Promise<number>
  countJobs(): Promise<Record<JobState, number>>

  /** Writes the row; false when a row with its id (an idempotency key's) is there already. */
  insertOutbox(row: JobOutboxRow): Promise<boolean>
  readOutbox(limit: number): Promise<JobOutboxRow[]>
  deleteOutbox(ids: readonly string[]): Promise<void>

  /** Records the schedule (or its new pattern); returns since when its ticks count. */
  putSchedule(name: string, pattern: string, tz: string, now: string): Promise<string>
  /** The newest tick claimed for the schedule. */
  lastTick(name: string): Promise<string | undefined>
  /** True for exactly one caller per (name, tick), across every process. */
  claimTick(name: string, tick: string, now: string): Promise<boolean>

  /** Ordered by name. */
  listJobSchedules(limit: number): Promise<JobScheduleRow[]>
  getJobSchedule(id: string): Promise<JobScheduleRow | undefined>
  /** False when the name is taken. */
  insertJobSchedule(row: JobScheduleRow): Promise<boolean>
  /** False when the name is taken by another schedule. */
  updateJobSchedule(row: JobScheduleRow): Promise<boolean>
  deleteJobSchedule(id: string): Promise<boolean>
}

export interface WebhookStore {
  insertWebhook(row: WebhookRow): Promise<void>
  getWebhook(id: string): Promise<WebhookRow | undefined>
  listWebhooks(query: {
    collection?: string
    enabledOnly?: boolean
    limit: number
  }): Promise<WebhookRow[]>
  updateWebhook(row: WebhookRow): Promise<void>
  deleteWebhook(id: string): Promise<boolean>
  /** Adds one to `failures` and returns the new count. */
  addWebhookFailure(id: string, now: string): Promise<number>
  resetWebhookFailures(id: string): Promise<void>
  /** Disables an enabled webhook; false when it was disabled already. */
  disableWebhook(id: string, reason: string, now: string): Promise<boolean>
  insertDelivery(row: DeliveryRow): Promise<void>
  getDelivery(webhookId: string, id: string): Promise<DeliveryRow | undefined>
  /** Newest first. */
  listDeliveries(webhookId: string, limit: number, before?: string): Promise<DeliveryRow[]>
  /** Deletes attempts logged before `before`; returns how many. */
  pruneDeliveries(before: string): Promise<number>
}
