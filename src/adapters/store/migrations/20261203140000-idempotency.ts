import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_idempotency`: one row per `Idempotency-Key` a caller sent with a POST or PATCH. The key
 * itself is never stored: `key_hash` is a SHA-256 of the caller's scope and the key, and the
 * kept response (`body`) is encrypted under a key derived from the client's key, so a copy of
 * the database does not reveal what was answered (tokens, API key secrets).
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  const int = sql.raw(adapter.dialect === 'sqlite' ? 'INTEGER' : 'integer')
  await sql`create table ${sql.table('_idempotency')} (
    ${sql.id('key_hash')} ${text} primary key not null,
    ${sql.id('fingerprint')} ${text} not null,
    ${sql.id('state')} ${text} not null,
    ${sql.id('status')} ${int},
    ${sql.id('content_type')} ${text},
    ${sql.id('location')} ${text},
    ${sql.id('body')} ${text},
    ${sql.id('created')} ${text} not null,
    ${sql.id('expires')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_idempotency_expires')} on ${sql.table('_idempotency')} (${sql.id('expires')})`.execute(
    db,
  )
}
