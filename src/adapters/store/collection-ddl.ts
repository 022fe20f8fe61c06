import { sql } from 'kysely'
import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef, FieldDef, IndexDef } from '../../core/schema/types.js'
import type { DialectAdapter } from './dialect-adapter.js'
import type { DynamicDb } from './dynamic-db.js'

/**
 * Brings a collection's table from one definition to another inside the caller's transaction.
 * Identifiers come only from validated definitions and are always quoted.
 *
 * Indexes are dropped first and recreated last: SQLite refuses to drop a column an index uses,
 * and recreating them is cheap next to the safety of one simple order of steps.
 */
export async function migrateCollectionTable(
  db: DynamicDb,
  adapter: DialectAdapter,
  from: CollectionDef | null,
  to: CollectionDef | null,
): Promise<void> {
  if (from)
    for (const index of allIndexes(from))
      await sql`drop index if exists ${sql.id(index.name)}`.execute(db)
  if (from && !to) {
    await sql`drop table ${sql.table(from.name)}`.execute(db)
    return
  }
  if (!to) return
  if (!from) {
    await createTable(db, adapter, to)
  } else {
    if (from.name !== to.name) {
      await sql`alter table ${sql.table(from.name)} rename to ${sql.id(to.name)}`.execute(db)
    }
    await alterColumns(db, adapter, from, to)
  }
  for (const index of allIndexes(to)) await createIndex(db, adapter, to, index)
}

async function createTable(
  db: DynamicDb,
  adapter: DialectAdapter,
  def: CollectionDef,
): Promise<void> {
  const { text, bool } = adapter.systemColumnTypes
  const columns = [
    sql`${sql.id('id')} ${sql.raw(text)} primary key not null`,
    sql`${sql.id('created')} ${sql.raw(text)} not null`,
    sql`${sql.id('updated')} ${sql.raw(text)} not null`,
  ]
  if (def.type === 'auth') {
    columns.push(
      sql`${sql.id('email')} ${sql.raw(text)} not null`,
      sql`${sql.id('password')} ${sql.raw(text)} not null`,
      sql`${sql.id('verified')} ${sql.raw(bool)} not null default ${sql.raw(adapter.dialect === 'sqlite' ? '0' : 'false')}`,
      sql`${sql.id('tokenKey')} ${sql.raw(text)} not null`,
    )
  }
  for (const field of def.fields) columns.push(columnDefinition(adapter, field))
  await sql`create table ${sql.table(def.name)} (${sql.join(columns)})`.execute(db)
}

function columnDefinition(adapter: DialectAdapter, field: FieldDef) {
  const { type, collate, constraints } = adapter.columnType(field)
  const parts = [type, collate, constraints].filter((part) => part !== undefined)
  return sql`${sql.id(field.name)} ${sql.raw(parts.join(' '))}`
}

async function alterColumns(
  db: DynamicDb,
  adapter: DialectAdapter,
  from: CollectionDef,
  to: CollectionDef,
) {
  const table = sql.table(to.name)
  const nextById = new Map(to.fields.map((f) => [f.id, f]))
  const previousIds = new Set(from.fields.map((f) => f.id))
  for (const field of from.fields) {
    const next = nextById.get(field.id)
    if (!next) {
      await sql`alter table ${table} drop column ${sql.id(field.name)}`.execute(db)
    } else if (next.name !== field.name) {
      await sql`alter table ${table} rename column ${sql.id(field.name)} to ${sql.id(next.name)}`.execute(
        db,
      )
    }
  }
  for (const field of to.fields) {
    if (!previousIds.has(field.id)) {
      await sql`alter table ${table} add column ${columnDefinition(adapter, field)}`.execute(db)
    }
  }
}

/** Declared indexes plus one unique index per `unique: true` field. */
export function allIndexes(def: CollectionDef): IndexDef[] {
  const uniques = def.fields
    .filter((f) => f.unique && !isMultiValued(f))
    .map((f) => ({ name: `uq_${def.id}_${f.id}`.slice(0, 63), fields: [f.name], unique: true }))
  // An auth collection's e-mail is its login name: one account per address.
  if (def.type === 'auth')
    uniques.unshift({ name: `uq_${def.id}_email`.slice(0, 63), fields: ['email'], unique: true })
  return [...def.indexes, ...uniques]
}

/**
 * Creates one index so that list queries can both filter and page through it:
 * - a non-unique index gets `id` appended, because every list is ordered by its sort keys then
 *   `id` (the tiebreaker), which the index can then deliver without a sort step;
 * - on PostgreSQL columns are `nulls first`, matching the engine's null ordering (nulls are the
 *   smallest value), so ascending and descending pages are plain forward and backward scans.
 *   SQLite already orders nulls first and has no such clause.
 */
async function createIndex(
  db: DynamicDb,
  adapter: DialectAdapter,
  def: CollectionDef,
  index: IndexDef,
): Promise<void> {
  const fields =
    index.unique || index.fields.includes('id') ? index.fields : [...index.fields, 'id']
  const nulls = adapter.dialect === 'postgres' ? sql` nulls first` : sql``
  const columns = sql.join(fields.map((f) => sql`${sql.id(f)}${nulls}`))
  const unique = index.unique ? sql`unique ` : sql``
  await sql`create ${unique}index ${sql.id(index.name)} on ${sql.table(def.name)} (${columns})`.execute(
    db,
  )
}
