import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { DialectAdapter } from '../dialect-adapter.js'
import { KyselyStore } from '../kysely-store.js'
import { applySystemMigrations } from '../migrations/system-migrations.js'
import { postgresColumnType, postgresSystemColumnTypes } from './postgres-ddl.js'
import { introspectPostgres } from './postgres-introspector.js'
import { translatePostgresError } from './postgres-errors.js'
import type { DynamicDb } from '../dynamic-db.js'
import { kyselyLogFor, observedAsync } from '../observe-queries.js'
import { preparingPool } from './prepared-pool.js'
import type { QueryObserver } from '../store.js'

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db`; `?options=-c search_path=x` selects a schema. */
  url: string
  /** Pool size (default 10). */
  maxConnections?: number
  /** Told of every statement (metrics, tracing). */
  onQuery?: QueryObserver
  /** How long to wait for a connection from the server (default 10000 ms). */
  connectTimeoutMs?: number
  /** A database this open creates gets the default collections (`users`); the CLI asks for them. */
  seedDefaults?: boolean
}

// Advisory locks are server-wide, so each key is paired with the current schema: deployments
// (and test runs) in different schemas of one PostgreSQL never wait on each other's locks.
/** An arbitrary constant key for `pg_advisory_xact_lock`: "engine room schema". */
const SCHEMA_LOCK_KEY = 0x45520001
/** One dispatcher at a time across the nodes sharing this database. */
const DISPATCHER_LOCK_KEY = 0x45520003

export const postgresAdapter: DialectAdapter = {
  dialect: 'postgres',
  columnType: postgresColumnType,
  systemColumnTypes: postgresSystemColumnTypes,
  encodeBool: (value) => value,
  introspect: introspectPostgres,
  translateError: translatePostgresError,
  inList: (column, list) => sql`${column} = any(cast(${list} as text[]))`,
  listParameter: (values) => [...values],
  jsonArrayOverlaps: (column, values) =>
    sql`exists (select 1 from json_array_elements_text(${column}::json) as j(v) where j.v = any(cast(${[...values]} as text[])))`,
  lockSchema: async (trx) => {
    await sql`select pg_advisory_xact_lock(${SCHEMA_LOCK_KEY}, hashtext(current_schema()))`.execute(
      trx,
    )
  },
  // Outbox ids are allocated in batches, before reads, under OUTBOX_LOCK_KEY (outbox-lock.ts).
  numbersPendingChanges: true,
  tryLockDispatcher: async (trx) => {
    const result = await sql<{
      ok: boolean
    }>`select pg_try_advisory_xact_lock(${DISPATCHER_LOCK_KEY}, hashtext(current_schema())) as ok`.execute(
      trx,
    )
    return result.rows[0]?.ok === true
  },
}

/**
 * Connects a pool to PostgreSQL and applies the engine's own migrations under an advisory lock,
 * so several nodes may start at once.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<KyselyStore> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  })
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {})
  // A connection lost while checked out also emits 'error' on its client, where the pool has no
  // listener; unheard, it would crash the process on any database restart. The query running on
  // it fails on its own, and the pool discards the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}))
  // Statements with parameters run prepared, each text parsed and planned once a connection.
  const preparing = preparingPool(pool)
  const db: DynamicDb = new Kysely({
    dialect: new PostgresDialect({ pool: preparing }),
    log: kyselyLogFor(options.onQuery),
  })
  try {
    await applySystemMigrations(db, postgresAdapter, { seedDefaults: options.seedDefaults })
  } catch (error) {
    await db.destroy()
    throw error
  }
  const observer = options.onQuery
  return new KyselyStore(db, postgresAdapter, undefined, {
    pooled: {
      read: async (text, parameters) =>
        (
          await observedAsync(observer, text, () =>
            preparing.query(text, parameters, { repeatable: true }),
          )
        ).rows,
      write: async (text, parameters) =>
        (await observedAsync(observer, text, () => preparing.query(text, parameters))).rowCount ??
        0,
    },
  })
}
