import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import * as systemTables from './20261128000000-system-tables.js'
import * as authTables from './20261128170000-auth-tables.js'
import * as realtimeOutbox from './20261128170000-realtime-outbox.js'
import * as authOAuth from './20261128180000-auth-oauth.js'
import * as files from './20261201000000-files.js'
import * as defaultUsers from './20261203000000-default-users.js'
import * as idempotency from './20261203140000-idempotency.js'
import * as outboxActor from './20261203120000-outbox-actor.js'
import * as payments from './20261203150000-payments.js'
import * as jobsWebhooks from './20261203160000-jobs-webhooks.js'
import * as audit from './20261203170000-audit.js'
import * as migrationContent from './20261203180000-migration-content.js'
import * as outboxNumberedAtCommit from './20261203190000-outbox-numbered-at-commit.js'
import * as jobSchedules from './20261203200000-job-schedules.js'
import * as outboxNumberedByReaders from './20261203210000-outbox-numbered-by-readers.js'
import * as consents from './20261203213000-consents.js'
import * as adminSettings from './20261203220000-admin-settings.js'
import type { DynamicDb } from '../dynamic-db.js'

/** What a migration may need to know about this open beyond the database itself. */
export interface SystemMigrationContext {
  /** The database was created by this open (the first system migration ran in it). */
  freshDatabase: boolean
  /** The opener wants the default collections on a fresh database (the CLI does). */
  seedDefaults: boolean
}

interface SystemMigration {
  name: string
  up(db: DynamicDb, adapter: DialectAdapter, context: SystemMigrationContext): Promise<void>
}

/** The engine's own schema history, in order. Released entries are never edited. */
const SYSTEM_MIGRATIONS: SystemMigration[] = [
  { name: '20261128000000-system-tables', ...systemTables },
  { name: '20261128170000-auth-tables', ...authTables },
  { name: '20261128170000-realtime-outbox', ...realtimeOutbox },
  { name: '20261128180000-auth-oauth', ...authOAuth },
  { name: '20261201000000-files', ...files },
  { name: '20261203000000-default-users', ...defaultUsers },
  { name: '20261203120000-outbox-actor', ...outboxActor },
  { name: '20261203140000-idempotency', ...idempotency },
  { name: '20261203150000-payments', ...payments },
  { name: '20261203160000-jobs-webhooks', ...jobsWebhooks },
  { name: '20261203170000-audit', ...audit },
  { name: '20261203180000-migration-content', ...migrationContent },
  { name: '20261203190000-outbox-numbered-at-commit', ...outboxNumberedAtCommit },
  { name: '20261203200000-job-schedules', ...jobSchedules },
  { name: '20261203210000-outbox-numbered-by-readers', ...outboxNumberedByReaders },
  { name: '20261203213000-consents', ...consents },
  { name: '20261203220000-admin-settings', ...adminSettings },
]

/**
 * Applies the engine's pending schema migrations, each in its own transaction under the schema
 * lock, so that several nodes starting at once on one PostgreSQL apply each exactly once.
 */
export async function applySystemMigrations(
  db: DynamicDb,
  adapter: DialectAdapter,
  options: { seedDefaults?: boolean } = {},
): Promise<string[]> {
  const text = sql.raw(adapter.systemColumnTypes.text)
  // Under the lock: two PostgreSQL nodes racing on `create table if not exists` can both miss.
  await db.transaction().execute(async (trx) => {
    await adapter.lockSchema(trx)
    await sql`create table if not exists ${sql.table('_system_migrations')} (
      ${sql.id('name')} ${text} primary key not null,
      ${sql.id('applied')} ${text} not null)`.execute(trx)
  })
  const applied: string[] = []
  for (const migration of SYSTEM_MIGRATIONS) {
    await db.transaction().execute(async (trx) => {
      await adapter.lockSchema(trx)
      const done = await trx
        .selectFrom('_system_migrations')
        .select('name')
        .where('name', '=', migration.name)
        .executeTakeFirst()
      if (done) return
      await migration.up(trx, adapter, {
        freshDatabase: applied.includes(SYSTEM_MIGRATIONS[0]!.name),
        seedDefaults: options.seedDefaults ?? false,
      })
      await trx
        .insertInto('_system_migrations')
        .values({ name: migration.name, applied: new Date().toISOString() })
        .execute()
      applied.push(migration.name)
    })
  }
  return applied
}

/** Names of the system migrations this build knows, for readiness checks. */
export function knownSystemMigrations(): string[] {
  return SYSTEM_MIGRATIONS.map((m) => m.name)
}
