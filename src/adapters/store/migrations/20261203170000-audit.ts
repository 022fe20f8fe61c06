import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_audit`: privileged actions, tamper-evident. Each row's `hash` is a SHA-256 of the previous
 * row's hash and the row's canonical JSON, so changing or removing a row breaks every hash
 * after it (`engineroom audit verify` names the first).
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const seq = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  await sql`create table ${sql.table('_audit')} (
    ${sql.id('seq')} ${seq} primary key not null,
    ${sql.id('at')} ${text} not null,
    ${sql.id('actor')} ${text} not null,
    ${sql.id('action')} ${text} not null,
    ${sql.id('target')} ${text} not null,
    ${sql.id('detail')} ${text} not null,
    ${sql.id('prev_hash')} ${text} not null,
    ${sql.id('hash')} ${text} not null)`.execute(db)
}
