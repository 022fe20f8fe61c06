import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * Authentication state: sessions with their rotating refresh tokens, login throttle counters,
 * single-use e-mail tokens, TOTP enrolments and API keys. Every secret is stored as a SHA-256 hash, never in clear.
 * Times are ISO-8601 text (as everywhere in the engine), which sorts and compares as time.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  // One session per sign-in; it is also the refresh-token family (OAuth 2.0 Security BCP §4.14.2).
  await sql`create table ${sql.table('_auth_sessions')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('token_key')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('last_used')} ${text} not null,
    ${sql.id('expires')} ${text} not null,
    ${sql.id('revoked')} ${text},
    ${sql.id('user_agent')} ${text} not null,
    ${sql.id('ip')} ${text} not null)`.execute(db)
  await sql`create index ${sql.id('_auth_sessions_record')}
    on ${sql.table('_auth_sessions')} (${sql.id('collection_id')}, ${sql.id('record_id')})`.execute(
    db,
  )
  await sql`create table ${sql.table('_auth_refresh_tokens')} (
    ${sql.id('hash')} ${text} primary key not null,
    ${sql.id('session_id')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('used')} ${text})`.execute(db)
  await sql`create index ${sql.id('_auth_refresh_tokens_session')}
    on ${sql.table('_auth_refresh_tokens')} (${sql.id('session_id')})`.execute(db)
  // Shared by every node on the database, so a lockout holds whichever node answers.
  await sql`create table ${sql.table('_auth_throttle')} (
    ${sql.id('key')} ${text} primary key not null,
    ${sql.id('failures')} integer not null,
    ${sql.id('locked_until')} ${text} not null,
    ${sql.id('updated')} ${text} not null)`.execute(db)
  await sql`create table ${sql.table('_auth_onetime_tokens')} (
    ${sql.id('hash')} ${text} primary key not null,
    ${sql.id('purpose')} ${text} not null,
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('email')} ${text} not null,
    ${sql.id('expires')} ${text} not null,
    ${sql.id('used')} ${text})`.execute(db)
  // TOTP second factor: the secret is encrypted (AES-256-GCM), recovery codes are hashed, and
  // `last_step` refuses a code's second use (RFC 6238 §5.2).
  await sql`create table ${sql.table('_auth_mfa')} (
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('secret')} ${text} not null,
    ${sql.id('enabled')} ${text},
    ${sql.id('recovery')} ${text} not null,
    ${sql.id('last_step')} integer not null,
    primary key (${sql.id('collection_id')}, ${sql.id('record_id')}))`.execute(db)
  // Server-to-server keys: only the hash is kept; the key is shown once at creation.
  await sql`create table ${sql.table('_api_keys')} (
    ${sql.id('id')} ${text} primary key not null,
    ${sql.id('hash')} ${text} not null unique,
    ${sql.id('collection_id')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('name')} ${text} not null,
    ${sql.id('scopes')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('expires')} ${text} not null,
    ${sql.id('revoked')} ${text})`.execute(db)
  await sql`create index ${sql.id('_api_keys_owner')}
    on ${sql.table('_api_keys')} (${sql.id('collection_id')}, ${sql.id('record_id')})`.execute(db)
}
