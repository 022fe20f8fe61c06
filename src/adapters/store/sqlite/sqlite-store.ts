import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import {
  CompiledQuery,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import { KyselyStore, type DirectRead, type HeldConnection } from '../kysely-store.js'
import { applySystemMigrations } from '../migrations/system-migrations.js'
import { sqliteColumnType, sqliteSystemColumnTypes } from './sqlite-ddl.js'
import { introspectSqlite } from './sqlite-introspector.js'
import { translateSqliteError } from './sqlite-errors.js'
import { withStatementCache } from './sqlite-statement-cache.js'
import type { DynamicDb } from '../dynamic-db.js'
import { kyselyLogFor, observed } from '../observe-queries.js'
import type { QueryObserver, Row } from '../store.js'

export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:`. */
  file: string
  /**
   * `NORMAL` (default): an acknowledged write survives a process crash; the last commits can be
   * lost on power loss. `FULL`: also survives power loss, several times slower to commit.
   */
  synchronous?: 'NORMAL' | 'FULL'
  /** How long a writer waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number
  /** Told of every statement (metrics, tracing). */
  onQuery?: QueryObserver
  /** A database this open creates gets the default collections (`users`); the CLI asks for them. */
  seedDefaults?: boolean
}

export const sqliteAdapter: DialectAdapter = {
  dialect: 'sqlite',
  columnType: sqliteColumnType,
  systemColumnTypes: sqliteSystemColumnTypes,
  encodeBool: (value) => (value ? 1 : 0),
  introspect: introspectSqlite,
  translateError: translateSqliteError,
  inList: (column, list) => sql`${column} in (select value from json_each(${list}))`,
  listParameter: (values) => JSON.stringify(values),
  jsonArrayOverlaps: (column, values) =>
    sql`exists (select 1 from json_each(${column}) as j where j.value in (select value from json_each(${JSON.stringify(values)})))`,
  // SQLite has one writer at a time; a write transaction already excludes every other one.
  lockSchema: async () => {},
  // The record write before it already holds SQLite's single write lock until commit.
  numbersPendingChanges: false,
  tryLockDispatcher: async () => true,
}

/**
 * Write transactions start with `BEGIN IMMEDIATE`: a deferred `BEGIN` takes the write lock only
 * at its first write, and two processes (`serve --workers`) that both read first then deadlock
 * on the upgrade, which `busy_timeout` cannot resolve (one gets SQLITE_BUSY at once). Taking the
 * lock up front makes the other writer wait in `busy_timeout` instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig
  constructor(config: SqliteDialectConfig) {
    super(config)
    this.#config = config
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config)
  }
}

/**
 * The database holds password hashes, the signing keys and the server secret: its directory is
 * created 0700 and the file (with its `-wal` and `-shm`, which SQLite creates with the file's
 * mode) 0600 before SQLite first opens it. Files of an older install are narrowed to 0600 too;
 * an existing directory is left as its owner set it.
 */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600))
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
    } catch {
      // Absent (no WAL yet), or not ours to change: SQLite reports what matters when it opens.
    }
  }
}

/**
 * Opens (creating if needed) the SQLite file in WAL mode and applies the engine's own migrations.
 *
 * @example
 *   const store = await openSqliteStore({ file: './er_data/data.db' })
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<KyselyStore> {
  if (options.file !== ':memory:') createPrivately(options.file)
  const database = new Database(options.file)
  // WAL lets readers run beside the one writer; NORMAL sync is durable against process crashes.
  database.pragma('journal_mode = WAL')
  database.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`)
  database.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`)
  database.pragma('foreign_keys = ON')
  database.pragma('temp_store = MEMORY')
  database.pragma('cache_size = -32000')
  const statements = withStatementCache(database)
  const db: DynamicDb = new Kysely({
    dialect: new ImmediateSqliteDialect({ database: statements }),
    log: kyselyLogFor(options.onQuery),
  })
  await applySystemMigrations(db, sqliteAdapter, { seedDefaults: options.seedDefaults })
  return new KyselyStore(db, sqliteAdapter, undefined, {
    read: directReads(database, statements, options),
    held: heldConnection(statements, options),
  })
}

/**
 * better-sqlite3 runs a statement synchronously, so a read needs no turn at Kysely's connection
 * lock, and none of the promise hops it takes, unless a transaction is open on the connection:
 * then the read would see that transaction's uncommitted rows, and it waits its turn instead.
 */
function directReads(
  database: Database.Database,
  statements: SqliteDatabase,
  options: SqliteStoreOptions,
): DirectRead {
  return (text, parameters) => {
    if (database.inTransaction) return undefined
    const statement = statements.prepare(text) as unknown as Database.Statement
    if (!statement.reader) return undefined
    return observed(options.onQuery, text, () => statement.all(parameters) as Row[])
  }
}

/**
 * The statements of a transaction, run at once: Kysely holds the connection from `begin` to
 * `commit`, so no other query can come between them, and a promise chain through its executor
 * per statement buys nothing. Told to the query observer like every statement.
 */
function heldConnection(statements: SqliteDatabase, options: SqliteStoreOptions): HeldConnection {
  const prepare = (text: string) => statements.prepare(text) as unknown as Database.Statement
  return {
    read: (text, parameters) =>
      observed(options.onQuery, text, () => prepare(text).all(parameters) as Row[]),
    write: (text, parameters) =>
      observed(options.onQuery, text, () => prepare(text).run(parameters).changes),
  }
}
