import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_outbox.actor`: who made each change (JSON of `ChangeActor`, null for the engine itself), so
 * that an extension's after hook, run later from the outbox, acts as that caller.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  await sql`alter table ${sql.table('_outbox')} add column ${sql.id('actor')} ${text}`.execute(db)
}
