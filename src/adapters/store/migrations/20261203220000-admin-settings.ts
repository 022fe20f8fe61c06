import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * `_admin_settings`: what a superuser set in the dashboard's Settings screen (SMTP, OAuth
 * providers, rate limits, CORS), one row per setting key with its JSON value. Secrets sit here
 * as written (the database is the trust boundary, as for `_settings`' signing keys); the API
 * never reads them back out. A row's absence means "not set here": the default applies.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  await sql`create table ${sql.table('_admin_settings')} (
    ${sql.id('key')} ${text} primary key not null,
    ${sql.id('value')} ${text} not null,
    ${sql.id('updated')} ${text} not null)`.execute(db)
}
