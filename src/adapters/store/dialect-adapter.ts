import type { RawBuilder, SqlBool } from 'kysely'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import type { TableShape } from './introspect.js'
import type { Dialect } from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/**
 * What one database needs to say for itself; everything else in the store is shared.
 * `sqlite/` and `postgres/` each implement it from the same set of files.
 */
export interface DialectAdapter {
  readonly dialect: Dialect
  /** SQL column type of a user field (`TEXT`, `REAL`, `boolean` …). */
  columnType(field: FieldDef): string
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
  /** Takes the outbox id-allocation lock for the rest of the transaction `trx`. */
  lockOutbox(trx: DynamicDb): Promise<void>
  /** Tries the dispatcher lock for the rest of the transaction; false when another holds it. */
  tryLockDispatcher(trx: DynamicDb): Promise<boolean>
}
