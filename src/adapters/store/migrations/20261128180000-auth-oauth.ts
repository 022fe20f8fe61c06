import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * OAuth2 / OpenID Connect sign-in: the pending authorization requests (state, nonce and PKCE
 * verifier kept on the server, keyed by the SHA-256 of the state) and the links from a provider's
 * subject to a record.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  // One row per redirect to a provider; the callback deletes it, so a state is spent once.
  await sql`create table ${sql.table('_auth_oauth_states')} (
    ${sql.id('hash')} ${text} primary key not null,
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('provider')} ${text} not null,
    ${sql.id('verifier')} ${text} not null,
    ${sql.id('nonce')} ${text} not null,
    ${sql.id('binder_hash')} ${text} not null,
    ${sql.id('redirect')} ${text} not null,
    ${sql.id('expires')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_auth_oauth_states_expires')}
    on ${sql.table('_auth_oauth_states')} (${sql.id('expires')})`.execute(db)
  // The stable identifier is (issuer, sub) — OIDC Core §5.7: "The sub (subject) and iss (issuer)
  // Claims, used together, are the only Claims that an RP can rely upon as a stable identifier".
  await sql`create table ${sql.table('_auth_oauth_links')} (
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('provider')} ${text} not null,
    ${sql.id('subject')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    primary key (${sql.id('collection_id')}, ${sql.id('provider')}, ${sql.id('subject')}))`.execute(
    db,
  )
  await sql`create index ${sql.id('_auth_oauth_links_record')}
    on ${sql.table('_auth_oauth_links')} (${sql.id('collection_id')}, ${sql.id('record_id')})`.execute(
    db,
  )
}
