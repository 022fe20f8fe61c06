import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type { CollectionDef } from '../../core/schema/types.js'
import type { DialectAdapter } from './dialect-adapter.js'
import type { DynamicDb } from './dynamic-db.js'
import type { ReadRows } from './kysely-store.js'
import { cachedPageQuery, fillSlots, slot, type CompiledPage } from './page-query-cache.js'
import { recordCodec } from './record-codec.js'
import { selectManyByIds, selectOneById } from './record-lookups.js'
import {
  keysetCondition,
  keysetSeek,
  orderByClause,
  RECORD_ALIAS,
  sortExpression,
  whereClause,
} from './record-sql.js'
import type { Condition, Row, SelectQuery, SelectResult, SortTerm } from './store.js'

/** What a session reads records with: its Kysely instance, dialect, and way to run a read. */
export interface PageReader {
  db: DynamicDb
  adapter: DialectAdapter
  read: ReadRows
}

/**
 * A page of records: the rule and filter conditions, the order, then `offset` or the keyset
 * start `after`. The statement is kept and reused (page-query-cache.ts); a keyset page binds its
 * start values through slots, so one statement serves every page of a walk.
 */
export async function selectRecordPage(
  reader: PageReader,
  query: SelectQuery,
): Promise<SelectResult> {
  const { adapter } = reader
  const { collection, sort, limit, after } = query
  const offset = query.offset ?? 0
  const cached = <T>(variant: string, compile: (where: Condition[]) => T): T =>
    cachedPageQuery(adapter.dialect, collection, query.where, sort, limit, offset, variant, compile)
  if (!after) {
    const page = cached('page', (where) =>
      compilePage(reader, collection, [whereClause(adapter, where)], sort, limit, offset),
    )
    return runPage(reader, collection, page, sort)
  }
  // A keyset page is compiled with slots for its start values, which are filled per request:
  // the statement's shape depends only on which of them are null.
  const slots = after.map((value, i) => (value === null || value === undefined ? null : slot(i)))
  const plan = cached(`after:${slots.map((s) => (s ? 'v' : 'n')).join('')}`, (where) => {
    const seek = offset ? null : keysetSeek(sort, slots, where)
    const conditions = [whereClause(adapter, where), keysetCondition(sort, slots)]
    if (seek) conditions.push(seek.bound)
    const page = compilePage(reader, collection, conditions, sort, limit, seek ? 0 : offset)
    return { page, nullsAfter: seek?.nulls !== null && seek?.nulls !== undefined }
  })
  const page = await runPage(reader, collection, fillSlots(plan.page, after), sort)
  if (!plan.nullsAfter || page.rows.length >= limit) return page
  // The rows whose first key is null come last in a descending order, all after the start.
  const nulls = keysetSeek(sort, after, query.where)?.nulls
  if (!nulls) return page
  const rest = await selectPage(
    reader,
    collection,
    [whereClause(adapter, query.where), nulls],
    sort,
    limit - page.rows.length,
    0,
  )
  return {
    rows: [...page.rows, ...rest.rows],
    sortValues: [...page.sortValues, ...rest.sortValues],
  }
}

/**
 * Records by id, decoded, in no order; with `where`, only those it allows. The ids are bound as
 * one value (`inList`), so the statement is the same for any number of them and is kept.
 */
export async function selectRecordsById(
  reader: PageReader,
  collection: CollectionDef,
  ids: readonly string[],
  where: readonly Condition[],
): Promise<Row[]> {
  const { db, adapter, read } = reader
  if (ids.length === 0) return []
  if (ids.length === 1 && where.length === 0) {
    const row = await selectOneById(db, adapter, collection, ids[0] as string, read)
    return row ? [row] : []
  }
  if (where.length === 0) return selectManyByIds(db, adapter, collection, ids, read)
  // Kept like a list page, keyed by the rule's macro values; the ids fill a slot.
  const page = cachedPageQuery(adapter.dialect, collection, where, [], 0, 0, 'by-ids', (w) =>
    sql<Row>`select * from ${sql.table(collection.name)} as ${sql.id(RECORD_ALIAS)}
        where ${adapter.inList(sql.ref(`${RECORD_ALIAS}.id`), slot(0))}
        and ${whereClause(adapter, w)}`.compile(db),
  )
  const { sql: text, parameters } = fillSlots(page, [adapter.listParameter(ids)])
  const codec = recordCodec(collection, adapter)
  return (await read(text, parameters)).map((row) => codec.decode(row))
}

function selectPage(
  reader: PageReader,
  collection: CollectionDef,
  conditions: RawBuilder<SqlBool>[],
  sort: readonly SortTerm[],
  limit: number,
  offset: number,
): Promise<SelectResult> {
  const page = compilePage(reader, collection, conditions, sort, limit, offset)
  return runPage(reader, collection, page, sort)
}

function compilePage(
  reader: PageReader,
  collection: CollectionDef,
  conditions: RawBuilder<SqlBool>[],
  sort: readonly SortTerm[],
  limit: number,
  offset: number,
): CompiledPage {
  // A plain field's sort value is already in `r.*`; only a relation's needs its own column.
  // Leaving plain ones out also spares deleting keys from every row (which turns the object
  // into a slow dictionary for the serialiser).
  const extra = sort.flatMap((term, i) =>
    'relation' in term.path ? [sql`${sortExpression(term)} as ${sql.id(`__s${i}`)}`] : [],
  )
  const columns = [sql`${sql.ref(RECORD_ALIAS)}.*`, ...extra]
  return sql<Row>`select ${sql.join(columns)}
      from ${sql.table(collection.name)} as ${sql.id(RECORD_ALIAS)}
      where ${sql.join(conditions, sql` and `)}
      order by ${orderByClause(sort)}
      limit ${limit} offset ${offset}`.compile(reader.db)
}

async function runPage(
  reader: PageReader,
  collection: CollectionDef,
  page: CompiledPage,
  sort: readonly SortTerm[],
): Promise<SelectResult> {
  const found = await reader.read(page.sql, page.parameters)
  const codec = recordCodec(collection, reader.adapter)
  const hasExtra = sort.some((term) => 'relation' in term.path)
  const sortValues: unknown[][] = []
  const rows = found.map((row) => {
    // Raw column values, before decoding: the keyset compares them with the columns again.
    sortValues.push(
      sort.map((term, i) => ('relation' in term.path ? row[`__s${i}`] : row[term.path.field])),
    )
    for (let i = 0; hasExtra && i < sort.length; i++) delete row[`__s${i}`]
    return codec.decode(row)
  })
  return { rows, sortValues }
}
