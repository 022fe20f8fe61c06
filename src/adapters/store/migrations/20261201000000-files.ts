import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_files`: the manifest of stored blobs, one row per file of a record, written in the same
 * transaction as the record. It holds what a download needs (sniffed type, size, SHA-256 for the
 * ETag) and makes deletion durable: a removed file's row is marked `deleted` in the record's
 * transaction and the blob is deleted after commit (retried until it is gone).
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const size = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'bigint')
  await sql`create table ${sql.table('_files')} (
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('name')} ${text} not null,
    ${sql.id('field_id')} ${text} not null,
    ${sql.id('size')} ${size} not null,
    ${sql.id('mime')} ${text} not null,
    ${sql.id('sha256')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('deleted')} ${text},
    primary key (${sql.id('collection_id')}, ${sql.id('record_id')}, ${sql.id('name')}))`.execute(
    db,
  )
  await sql`create index ${sql.id('_files_deleted')} on ${sql.table('_files')} (${sql.id('deleted')})`.execute(
    db,
  )
}
