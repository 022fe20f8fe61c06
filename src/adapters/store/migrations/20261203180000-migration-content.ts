import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_migrations.content`: each applied schema change keeps its operations (the JSON of its
 * migration file) in the database, so every node, `engineroom schema history` and a `migrate`
 * from this database see one ordered history, whichever node's disk the file was written on.
 * Null for changes applied before this column existed (filled from the node's files on start).
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  await sql`alter table ${sql.table('_migrations')} add column ${sql.id('content')} ${text}`.execute(
    db,
  )
}
