/**
 * The snapshot port: a consistent copy of the whole database taken while writes continue, what
 * that copy holds (row counts and checksums per table, the last outbox event), and the way back.
 * SQLite (`sqlite/sqlite-snapshots.ts`) copies the file with `VACUUM INTO` from a read
 * transaction; PostgreSQL (`postgres/postgres-snapshots.ts`) runs `pg_dump -Fc` on a snapshot
 * exported from a repeatable-read transaction, and reads the facts in that same transaction.
 * Either way the facts describe exactly the bytes of the dump, never a moment later.
 */

/** What a table holds: its row count and, where a restore rebuilds rows, a checksum of them. */
export interface TableFacts {
  rows: number
  /**
   * Sum of the first 60 bits of each row's MD5 (order-independent: the same rows give the same
   * sum). PostgreSQL only, whose restore rebuilds every row from the dump; a SQLite archive holds
   * the database file itself, which its part's SHA-256 covers byte for byte.
   */
  checksum?: string
}

/** A live (not deleted) stored file as the snapshot's `_files` lists it. */
export interface SnapshotFile {
  collectionId: string
  recordId: string
  name: string
  size: number
  sha256: string
}

/** What a snapshot (or a database restored from one) holds. */
export interface SnapshotFacts {
  /** Every table of the database (a collection's table has the collection's name). */
  tables: Record<string, TableFacts>
  /** The id of the newest change event in the outbox (0 when empty): every write before it is in. */
  lastEventId: number
  /** The `schema_version` setting (changes with every schema change). */
  schemaVersion: string
  /** The engine's own migrations the database has applied, in order. */
  systemMigrations: string[]
}

export interface TakenSnapshot {
  /** Files written into the folder given to `take`, relative to it. */
  parts: string[]
  facts: SnapshotFacts
  /** Dialect details a restore needs (PostgreSQL: the schema name and server version). */
  database: Record<string, string>
  /** The live files of the snapshot, in key order, read in pages. */
  files(): AsyncIterable<SnapshotFile>
  /** Ends the snapshot (closes the file or the exporting transaction). */
  release(): Promise<void>
}

/** What a restore check found: `integrity` is `ok` or the database's own complaint. */
export interface InspectedSnapshot {
  integrity: string
  facts: SnapshotFacts
}

export interface DatabaseSnapshots {
  readonly dialect: 'sqlite' | 'postgres'
  /** Writes a consistent copy of the database into `folder` (which exists and is empty). */
  take(folder: string): Promise<TakenSnapshot>
  /**
   * Restores the parts in `folder` into a scratch place (a temporary file; a scratch PostgreSQL
   * database), checks its integrity and reads its facts, then removes the scratch place.
   */
  inspect(folder: string, database: Record<string, string>): Promise<InspectedSnapshot>
  /** Whether the restore target holds no data (no database file; a schema without tables). */
  targetIsEmpty(): Promise<boolean>
  /** Throws when a server has the restore target open (a restore would corrupt it). */
  assertTargetNotLive(): Promise<void>
  /** Replaces the target's contents with the parts in `folder` (already inspected). */
  restore(folder: string, database: Record<string, string>): Promise<void>
}
