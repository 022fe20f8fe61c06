import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_consents`: every consent a person gave or withdrew, append-only. A person is an auth
 * collection's id and a record id (two auth collections may hold the same record id); `seq`
 * numbers their changes, so their history reads in order without relying on clock ties. The
 * current state of a purpose is its newest row; `granted` is 1 or 0 on both dialects.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const int = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'integer')
  await sql`create table ${sql.table('_consents')} (
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('seq')} ${int} not null,
    ${sql.id('purpose')} ${text} not null,
    ${sql.id('granted')} ${int} not null,
    ${sql.id('at')} ${text} not null,
    ${sql.id('actor')} ${text} not null,
    ${sql.id('ip')} ${text} not null,
    ${sql.id('user_agent')} ${text} not null,
    primary key (${sql.id('collection_id')}, ${sql.id('record_id')}, ${sql.id('seq')}))`.execute(db)
}
