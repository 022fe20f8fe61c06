import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * Background work and outgoing webhooks:
 * - `_jobs`: the store queue. A row is leased by a worker (`lease_owner`, `lease_until`); a lease
 *   that runs out (the worker died) makes the row claimable again, so a job outlives its worker.
 *   `idempotency_key` is unique: a second enqueue with the same key is the first job.
 * - `_job_outbox`: jobs written in a write's transaction while the queue is BullMQ, handed to
 *   Redis after commit (a job exists if and only if its write committed).
 * - `_schedules` and `_schedule_ticks`: cron schedules and the ticks claimed; the primary key
 *   (name, tick) lets exactly one node or worker claim each tick.
 * - `_webhooks` and `_webhook_deliveries`: subscriptions (secrets encrypted) and the log of
 *   every delivery attempt with its request and response excerpts.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const int = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  const column = (name: string, type: typeof text, rest = 'not null') =>
    sql`${sql.id(name)} ${type} ${sql.raw(rest)}`
  const createTable = (name: string, columns: ReturnType<typeof column>[], extra = sql``) =>
    sql`create table ${sql.table(name)} (${sql.join(columns)}${extra})`.execute(db)
  const createIndex = (name: string, table: string, columns: string[], unique = false) =>
    sql`create ${sql.raw(unique ? 'unique ' : '')}index ${sql.id(name)} on ${sql.table(table)} (${sql.join(columns.map((c) => sql.id(c)))})`.execute(
      db,
    )

  await createTable('_jobs', [
    column('id', text, 'primary key not null'),
    column('name', text),
    column('payload', text),
    column('state', text),
    column('priority', int),
    column('attempts_made', int),
    column('max_attempts', int),
    column('run_at', text),
    column('lease_owner', text, ''),
    column('lease_until', text, ''),
    column('idempotency_key', text, ''),
    column('last_error', text, ''),
    column('created', text),
    column('updated', text),
    column('finished', text, ''),
  ])
  await createIndex('_jobs_due', '_jobs', ['state', 'run_at'])
  await createIndex('_jobs_idempotency_key', '_jobs', ['idempotency_key'], true)

  await createTable('_job_outbox', [
    column('id', text, 'primary key not null'),
    column('name', text),
    column('payload', text),
    column('options', text),
    column('created', text),
  ])

  await createTable('_schedules', [
    column('name', text, 'primary key not null'),
    column('pattern', text),
    column('tz', text),
    column('since', text),
  ])
  await createTable(
    '_schedule_ticks',
    [column('name', text), column('tick', text), column('claimed', text)],
    sql`, primary key (${sql.id('name')}, ${sql.id('tick')})`,
  )

  await createTable('_webhooks', [
    column('id', text, 'primary key not null'),
    column('url', text),
    column('collection', text),
    column('actions', text),
    column('filter', text, ''),
    column('enabled', int),
    column('secret', text),
    column('previous_secret', text, ''),
    column('previous_expires', text, ''),
    column('failures', int),
    column('disabled_reason', text, ''),
    column('disabled_at', text, ''),
    column('created', text),
    column('updated', text),
  ])
  await createIndex('_webhooks_collection', '_webhooks', ['collection'])

  await createTable('_webhook_deliveries', [
    column('id', text, 'primary key not null'),
    column('webhook_id', text),
    column('message_id', text),
    column('attempt', int),
    column('outcome', text),
    column('body', text),
    column('request', text),
    column('response_status', int, ''),
    column('response', text),
    column('duration_ms', int),
    column('error', text, ''),
    column('created', text),
  ])
  await createIndex('_webhook_deliveries_webhook', '_webhook_deliveries', ['webhook_id', 'created'])
}
