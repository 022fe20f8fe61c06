import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * The transactional outbox (one row per record change, written in the change's own transaction)
 * and one-time realtime tickets. Event ids are allocated as `max(id) + 1` under the outbox lock
 * (see `appendChanges`), so they are gap-free and in commit order on both dialects.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  // SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL needs bigint to match.
  const id = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  await sql`create table ${sql.table('_outbox')} (
    ${sql.id('id')} ${id} primary key not null,
    ${sql.id('collection')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('action')} ${text} not null,
    ${sql.id('record')} ${text} not null,
    ${sql.id('created')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_outbox_created')} on ${sql.table('_outbox')} (${sql.id('created')})`.execute(
    db,
  )
  await sql`create table ${sql.table('_realtime_tickets')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('token')} ${text} not null,
    ${sql.id('expires')} ${text} not null)`.execute(db)
}
