import type { RawBuilder, SqlBool } from 'kysely'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import type { TableShape } from './introspect.js'
import type { Dialect } from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/**
 * A user field's column, in the parts each place needs: a definition (`create table`, `add
 * column`) says all three; a `cast(? as …)` may name only `type`, since a constraint there is
 * a syntax error on both databases.
 *
 * @example
 *   { type: 'boolean', constraints: 'not null default false' } // PostgreSQL bool
 *   { type: 'text', collate: 'collate "C"' } // PostgreSQL text
 */
export interface ColumnType {
  /** The SQL type alone: `TEXT`, `REAL`, `INTEGER`, `double precision`, `boolean`. */
  type: string
  /** How text compares and sorts; it follows the type in a definition or the cast in a query. */
  collate?: string
  /** What only a definition may say: `NOT NULL DEFAULT 0`. */
  constraints?: string
}

/**
 * What one database needs to say for itself; everything else in the store is shared.
 * `sqlite/` and `postgres/` each implement it from the same set of files.
 */
export interface DialectAdapter {
  readonly dialect: Dialect
  /** The column of a user field: its SQL type, collation and constraints. */
  columnType(field: FieldDef): ColumnType
  /** SQL column types of the system fields of a record table. */
  readonly systemColumnTypes: { text: string; bool: string }
  /** How a boolean is bound as a parameter. */
  encodeBool(value: boolean): unknown
  /** Turns a driver error into an EngineError naming the collection and field, or returns undefined. */
  translateError(error: unknown, collection: CollectionDef | undefined): Error | undefined
  /**
   * True when `column` is one of a list bound as the single parameter `list` (made by
   * `listParameter`): one statement text for any number of ids, so it can be kept and reused.
   */
  inList(column: RawBuilder<unknown>, list: unknown): RawBuilder<SqlBool>
  /** The bound value of `inList`'s parameter for these values. */
  listParameter(values: readonly string[]): unknown
  /** True when the JSON-array text column holds any of `values`. */
  jsonArrayOverlaps(column: RawBuilder<unknown>, values: readonly string[]): RawBuilder<SqlBool>
  /** Lists tables, columns and indexes. */
  introspect(db: DynamicDb): Promise<TableShape[]>
  /** Takes the schema lock for the rest of the transaction `trx`. */
  lockSchema(trx: DynamicDb): Promise<void>
  /**
   * Whether change events are written unnumbered and numbered in batches before the outbox is
   * read (PostgreSQL, see `appendChanges` and `numberPendingChanges`); otherwise they are
   * numbered as they are written.
   */
  readonly numbersPendingChanges: boolean
  /** Tries the dispatcher lock for the rest of the transaction; false when another holds it. */
  tryLockDispatcher(trx: DynamicDb): Promise<boolean>
}
