import { sql } from 'kysely'
import type { DynamicDb } from './dynamic-db.js'
import type { Dialect } from './store.js'
import type { JobOutboxRow, JobRow, JobScheduleRow, JobState, JobStore } from './store-jobs.js'

type DbRow = Record<string, unknown>

const JOB_STATES: readonly JobState[] = ['queued', 'active', 'done', 'dead', 'canceled']

const toJob = (r: DbRow): JobRow => ({
  id: r.id as string,
  name: r.name as string,
  payload: r.payload as string,
  state: r.state as JobState,
  // PostgreSQL returns bigint as text.
  priority: Number(r.priority),
  attemptsMade: Number(r.attempts_made),
  maxAttempts: Number(r.max_attempts),
  runAt: r.run_at as string,
  leaseOwner: (r.lease_owner as string | null) ?? null,
  leaseUntil: (r.lease_until as string | null) ?? null,
  idempotencyKey: (r.idempotency_key as string | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  created: r.created as string,
  updated: r.updated as string,
  finished: (r.finished as string | null) ?? null,
})

/** `_jobs`, `_job_outbox` and the schedule tables on Kysely. */
export class KyselyJobStore implements JobStore {
  readonly #db: DynamicDb
  readonly #dialect: Dialect

  constructor(db: DynamicDb, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  async insertJob(row: JobRow): Promise<boolean> {
    // `on conflict do nothing` rather than catching the unique error: on PostgreSQL an error
    // would abort the write's transaction the job was enqueued in.
    const result = await this.#db
      .insertInto('_jobs')
      .values({
        id: row.id,
        name: row.name,
        payload: row.payload,
        state: row.state,
        priority: row.priority,
        attempts_made: row.attemptsMade,
        max_attempts: row.maxAttempts,
        run_at: row.runAt,
        lease_owner: row.leaseOwner,
        lease_until: row.leaseUntil,
        idempotency_key: row.idempotencyKey,
        last_error: row.lastError,
        created: row.created,
        updated: row.updated,
        finished: row.finished,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async getJob(id: string): Promise<JobRow | undefined> {
    const row = await this.#db
      .selectFrom('_jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toJob(row) : undefined
  }

  async getJobByKey(idempotencyKey: string): Promise<JobRow | undefined> {
    const row = await this.#db
      .selectFrom('_jobs')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst()
    return row ? toJob(row) : undefined
  }

  async claimJobs(
    owner: string,
    now: string,
    lease: { now: string; until: string },
    limit: number,
  ): Promise<JobRow[]> {
    const due = sql`(${sql.ref('state')} = 'queued' and ${sql.ref('run_at')} <= ${now})
      or (${sql.ref('state')} = 'active' and ${sql.ref('lease_until')} <= ${lease.now})`
    const order = sql`order by ${sql.ref('priority')}, ${sql.ref('run_at')}, ${sql.ref('id')} limit ${limit}`
    const set = sql`${sql.ref('state')} = 'active', ${sql.ref('lease_owner')} = ${owner},
      ${sql.ref('lease_until')} = ${lease.until}, ${sql.ref('updated')} = ${now},
      ${sql.ref('attempts_made')} = ${sql.ref('attempts_made')} + 1`
    // One statement either way. PostgreSQL: rows another worker is claiming are skipped, not
    // waited for. SQLite: the statement runs under the database's single write lock.
    const query =
      this.#dialect === 'postgres'
        ? sql<DbRow>`with ${sql.id('next')} as (
            select ${sql.ref('id')} from ${sql.table('_jobs')} where ${due} ${order}
            for update skip locked)
          update ${sql.table('_jobs')} set ${set}
          where ${sql.ref('id')} in (select ${sql.ref('id')} from ${sql.id('next')}) returning *`
        : sql<DbRow>`update ${sql.table('_jobs')} set ${set}
          where ${sql.ref('id')} in (select ${sql.ref('id')} from ${sql.table('_jobs')} where ${due} ${order})
          returning *`
    const result = await query.execute(this.#db)
    return result.rows
      .map(toJob)
      .sort((a, b) => a.priority - b.priority || a.runAt.localeCompare(b.runAt))
  }

  async extendLease(id: string, owner: string, leaseUntil: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('_jobs')
      .set({ lease_until: leaseUntil })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .where('lease_owner', '=', owner)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async settleJob(
    id: string,
    owner: string,
    outcome: { state: 'done' | 'dead' | 'queued'; now: string; runAt?: string; error?: string },
  ): Promise<boolean> {
    const result = await this.#db
      .updateTable('_jobs')
      .set({
        state: outcome.state,
        lease_owner: null,
        lease_until: null,
        updated: outcome.now,
        ...(outcome.runAt !== undefined ? { run_at: outcome.runAt } : {}),
        ...(outcome.error !== undefined ? { last_error: outcome.error } : {}),
        ...(outcome.state === 'queued' ? {} : { finished: outcome.now }),
      })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .where('lease_owner', '=', owner)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async listJobs(query: {
    state?: JobState
    name?: string
    limit: number
    before?: string
  }): Promise<JobRow[]> {
    let select = this.#db.selectFrom('_jobs').selectAll()
    if (query.state) select = select.where('state', '=', query.state)
    if (query.name) select = select.where('name', '=', query.name)
    if (query.before) select = select.where('id', '<', query.before)
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute()
    return rows.map(toJob)
  }

  async retryJob(id: string, now: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('_jobs')
      .set({ state: 'queued', attempts_made: 0, run_at: now, updated: now, finished: null })
      .where('id', '=', id)
      .where('state', 'in', ['dead', 'canceled'])
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async cancelJob(id: string, now: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('_jobs')
      .set({ state: 'canceled', updated: now, finished: now })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async pruneJobs(before: string): Promise<number> {
    const result = await this.#db
      .deleteFrom('_jobs')
      .where('state', 'in', ['done', 'canceled'])
      .where('finished', '<', before)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  async countJobs(): Promise<Record<JobState, number>> {
    const rows = await this.#db
      .selectFrom('_jobs')
      .select(['state', (eb) => eb.fn.countAll().as('n')])
      .groupBy('state')
      .execute()
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
    for (const row of rows) counts[row.state as JobState] = Number(row.n)
    return counts
  }

  async insertOutbox(row: JobOutboxRow): Promise<boolean> {
    const result = await this.#db
      .insertInto('_job_outbox')
      .values({ ...row })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async readOutbox(limit: number): Promise<JobOutboxRow[]> {
    const rows = await this.#db
      .selectFrom('_job_outbox')
      .selectAll()
      .orderBy('created')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows as JobOutboxRow[]
  }

  async deleteOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#db
      .deleteFrom('_job_outbox')
      .where('id', 'in', [...ids])
      .execute()
  }

  async putSchedule(name: string, pattern: string, tz: string, now: string): Promise<string> {
    await this.#db
      .insertInto('_schedules')
      .values({ name, pattern, tz, since: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute()
    // A changed pattern starts afresh: ticks of the old one are not "missed" ticks of the new.
    await this.#db
      .updateTable('_schedules')
      .set({ pattern, tz, since: now })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('pattern', '!=', pattern), eb('tz', '!=', tz)]))
      .execute()
    const row = await this.#db
      .selectFrom('_schedules')
      .select('since')
      .where('name', '=', name)
      .executeTakeFirst()
    return (row?.since as string | undefined) ?? now
  }

  async lastTick(name: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('_schedule_ticks')
      .select((eb) => eb.fn.max('tick').as('tick'))
      .where('name', '=', name)
      .executeTakeFirst()
    return (row?.tick as string | null | undefined) ?? undefined
  }

  async claimTick(name: string, tick: string, now: string): Promise<boolean> {
    const result = await this.#db
      .insertInto('_schedule_ticks')
      .values({ name, tick, claimed: now })
      .onConflict((oc) => oc.columns(['name', 'tick']).doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async listJobSchedules(limit: number): Promise<JobScheduleRow[]> {
    const rows = await this.#db
      .selectFrom('_job_schedules')
      .selectAll()
      .orderBy('name')
      .limit(limit)
      .execute()
    return rows.map(toJobSchedule)
  }

  async getJobSchedule(id: string): Promise<JobScheduleRow | undefined> {
    const row = await this.#db
      .selectFrom('_job_schedules')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toJobSchedule(row) : undefined
  }

  async insertJobSchedule(row: JobScheduleRow): Promise<boolean> {
    const result = await this.#db
      .insertInto('_job_schedules')
      .values(fromJobSchedule(row))
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async updateJobSchedule(row: JobScheduleRow): Promise<boolean> {
    // A name taken by another schedule: checked here rather than by catching the unique error,
    // which on PostgreSQL would abort a surrounding transaction.
    const clash = await this.#db
      .selectFrom('_job_schedules')
      .select('id')
      .where('name', '=', row.name)
      .where('id', '!=', row.id)
      .executeTakeFirst()
    if (clash) return false
    const { id, created: _created, ...values } = fromJobSchedule(row)
    await this.#db.updateTable('_job_schedules').set(values).where('id', '=', id).execute()
    return true
  }

  async deleteJobSchedule(id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('_job_schedules')
      .where('id', '=', id)
      .executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }
}

const toJobSchedule = (r: DbRow): JobScheduleRow => ({
  id: r.id as string,
  name: r.name as string,
  cron: r.cron as string,
  tz: r.tz as string,
  job: r.job as string,
  payload: r.payload as string,
  enabled: Number(r.enabled) === 1,
  since: r.since as string,
  created: r.created as string,
  updated: r.updated as string,
})

const fromJobSchedule = (row: JobScheduleRow) => ({ ...row, enabled: row.enabled ? 1 : 0 })
