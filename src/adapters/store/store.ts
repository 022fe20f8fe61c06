/**
 * The store port: everything the services ask of a database. One implementation on Kysely
 * (`kysely-store.ts`) serves both dialects; what differs (connection, DDL, error codes, value
 * encoding) lives in `sqlite/` and `postgres/`, file for file.
 */
import type { CheckedExpr } from '../../core/filter/check.js'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import type { FilterValues } from './compile-filter-values.js'
import type { TableShape } from './introspect.js'

export type Dialect = 'sqlite' | 'postgres'

/** A record as stored: system and user fields with JS values (booleans, arrays, parsed JSON). */
export type Row = Record<string, unknown>

/** One condition of a query: a checked filter or rule with the request's macro values. */
export interface Condition {
  expr: CheckedExpr
  values: FilterValues
}

/** A sort key: a field of the collection, or one field of a single relation (`author.name`). */
export interface SortTerm {
  path: { field: string } | { relation: string; target: CollectionDef; field: string }
  desc: boolean
}

export interface SelectQuery {
  collection: CollectionDef
  where: Condition[]
  /** Only these records (realtime asks about the ids of an event batch). */
  ids?: readonly string[]
  /** Ends with `id` so the order is total; the service appends it. */
  sort: SortTerm[]
  limit: number
  offset?: number
  /** Keyset pagination: the sort values of the last row already seen, in `sort` order. */
  after?: unknown[]
}

/** The rows of a page plus each row's sort values, from which the service makes a cursor. */
export interface SelectResult {
  rows: Row[]
  sortValues: unknown[][]
}

export type ChangeAction = 'create' | 'update' | 'delete'

/** A record change as the records service reports it: the snapshot after (before, for delete). */
export interface ChangeInput {
  collection: string
  recordId: string
  action: ChangeAction
  /** The record as stored, secrets removed, hidden fields kept (removed per reader later). */
  record: Row
}

/** A committed change from the outbox; `id` grows by one per event, in commit order. */
export interface ChangeEvent extends ChangeInput {
  id: number
  created: string
}

/** The oldest and newest event ids kept in the outbox (0 and 0 when it is empty). */
export interface OutboxBounds {
  first: number
  last: number
}

/** What services may do, inside or outside a transaction. */
export interface StoreSession {
  readonly dialect: Dialect

  listCollections(): Promise<CollectionDef[]>
  insertCollection(def: CollectionDef): Promise<void>
  updateCollection(def: CollectionDef): Promise<void>
  deleteCollection(id: string): Promise<void>
  /** Creates, alters or drops the collection's table (and indexes) so it matches `to`. */
  migrateCollectionTable(from: CollectionDef | null, to: CollectionDef | null): Promise<void>

  appliedMigrations(): Promise<string[]>
  recordMigration(name: string, appliedAt: string): Promise<void>

  selectRecords(query: SelectQuery): Promise<SelectResult>
  countRecords(collection: CollectionDef, where: Condition[]): Promise<number>
  selectByIds(collection: CollectionDef, ids: readonly string[]): Promise<Row[]>
  /** Records whose `column` (a field or system field of the schema) equals `value`. */
  selectByColumn(
    collection: CollectionDef,
    column: string,
    value: string,
    limit: number,
  ): Promise<Row[]>
  /** Records of `collection` whose relation `field` points at any of `ids`. */
  selectReferencing(
    collection: CollectionDef,
    field: FieldDef,
    ids: readonly string[],
  ): Promise<Row[]>
  insertRecord(collection: CollectionDef, values: Row): Promise<void>
  /** Returns how many rows changed (0 when the id does not exist). */
  updateRecord(collection: CollectionDef, id: string, values: Row): Promise<number>
  deleteRecord(collection: CollectionDef, id: string): Promise<number>

  /**
   * Adds a change event to the outbox of the transaction this session belongs to; it is
   * written, with its id, just before the transaction commits (outside one: at once).
   */
  recordChange(change: ChangeInput): void
  /** Committed events with `id > afterId`, oldest first. */
  readChanges(afterId: number, limit: number): Promise<ChangeEvent[]>
  outboxBounds(): Promise<OutboxBounds>
  /** Deletes events outside the retention window (never the newest); returns how many. */
  pruneChanges(retention: { events?: number; before?: string }): Promise<number>
  /** Stores a one-time realtime ticket standing for a bearer token until `expires`. */
  insertTicket(id: string, token: string, expires: string): Promise<void>
  /** Consumes a ticket: its token if it existed and had not expired, and it is gone after. */
  takeTicket(id: string, now: string): Promise<string | undefined>

  getSetting(key: string): Promise<string | undefined>
  setSetting(key: string, value: string): Promise<void>
  /** Stores `value` unless the key is set already; returns whichever value is stored. */
  initSetting(key: string, value: string): Promise<string>
}

export interface Store extends StoreSession {
  /**
   * Runs `work` in one transaction: all of it commits or none does. A call made on the session
   * passed in joins the same transaction.
   */
  transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T>
  /**
   * Like `transaction`, but first takes the store-wide schema lock, so that two nodes never
   * change the schema at once (PostgreSQL advisory lock; SQLite's write lock does it already).
   */
  schemaTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T>
  /**
   * Runs `work` in a transaction holding the named cluster-wide lock, or returns undefined at
   * once when another node holds it (PostgreSQL `pg_try_advisory_xact_lock`; on SQLite the
   * write transaction itself excludes other processes).
   */
  exclusiveTransaction<T>(
    lock: 'dispatcher',
    work: (tx: StoreSession) => Promise<T>,
  ): Promise<T | undefined>
  /** Tables, columns and indexes as they are in the database (for checks and tests). */
  introspect(): Promise<TableShape[]>
  /** Throws when the database does not answer. */
  ping(): Promise<void>
  close(): Promise<void>
}
