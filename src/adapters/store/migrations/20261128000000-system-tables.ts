import { sql } from 'kysely'
import { SUPERUSERS } from '../../../core/schema/system-collections.js'
import { migrateCollectionTable } from '../collection-ddl.js'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/** The engine's own tables: the schema catalogue, applied user migrations, settings, superusers. */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  await sql`create table ${sql.table('_collections')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('name')} ${text} not null unique,
    ${sql.id('definition')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('updated')} ${text} not null)`.execute(db)
  await sql`create table ${sql.table('_migrations')} (
    ${sql.id('name')} ${text} primary key not null,
    ${sql.id('applied')} ${text} not null)`.execute(db)
  await sql`create table ${sql.table('_settings')} (
    ${sql.id('key')} ${text} primary key not null,
    ${sql.id('value')} ${text} not null)`.execute(db)
  await migrateCollectionTable(db, adapter, null, SUPERUSERS)
  await db
    .insertInto('_collections')
    .values({
      id: SUPERUSERS.id,
      name: SUPERUSERS.name,
      definition: JSON.stringify(SUPERUSERS),
      created: SUPERUSERS.created,
      updated: SUPERUSERS.updated,
    })
    .execute()
}
