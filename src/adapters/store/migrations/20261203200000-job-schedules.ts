import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_job_schedules`: cron schedules made through the admin API (`/api/schedules`), each queueing
 * a named job with a payload at every tick in its time zone. Kept in the store so every node
 * sees them; each tick is claimed in `_schedule_ticks` (as `api:<id>`), so it runs once. `since`
 * is when the schedule (or its current pattern, time zone or enabling) took effect: ticks
 * before it are not missed ticks.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const int = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  const column = (name: string, type: typeof text, rest = 'not null') =>
    sql`${sql.id(name)} ${type} ${sql.raw(rest)}`
  await sql`create table ${sql.table('_job_schedules')} (${sql.join([
    column('id', text, 'primary key not null'),
    column('name', text),
    column('cron', text),
    column('tz', text),
    column('job', text),
    column('payload', text),
    column('enabled', int),
    column('since', text),
    column('created', text),
    column('updated', text),
  ])})`.execute(db)
  await sql`create unique index ${sql.id('_job_schedules_name')} on ${sql.table('_job_schedules')} (${sql.id('name')})`.execute(
    db,
  )
}
