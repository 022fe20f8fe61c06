import { EngineError } from '../../core/errors/index.js'
import { validateCreateInput, validateUpdateInput } from '../../core/schema/validate-record.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, StoreSession } from '../../adapters/store/store.js'
import type { FilterValues } from '../../adapters/store/compile-filter-values.js'
import { requireSuperuser } from '../access.js'
import type { RequestContext } from '../context.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { deleteWithRelations } from './delete-cascade.js'
import { expandRelations } from './expand-relations.js'
import { checkListFilter, parseExpand, parseFields, parsePaging, parseSort } from './list-query.js'
import {
  checkRelationsExist,
  hashInputPassword,
  newRow,
  newTokenKey,
  stampDates,
} from './record-writes.js'
import type { RecordsDeps } from './records-deps.js'
import { changeSnapshot, projectRecord, toApiRecord } from './record-view.js'

/** `GET …/records` parameters, as strings from any transport. */
export type ListParams = Partial<
  Record<'filter' | 'sort' | 'page' | 'perPage' | 'cursor' | 'fields' | 'expand' | 'count', string>
>
export type ViewParams = Partial<Record<'fields' | 'expand', string>>

export interface RecordPage {
  items: Row[]
  page: number
  perPage: number
  nextCursor: string | null
  totalItems?: number
}

export type RecordsService = ReturnType<typeof createRecordsService>

/**
 * Record use cases for every transport. Each reads as its steps: resolve the collection, check
 * access, validate, write in one transaction, shape the result.
 */
export function createRecordsService(deps: RecordsDeps) {
  const { store, registry, clock } = deps

  async function collectionFor(
    ctx: RequestContext,
    name: string,
    tx?: StoreSession,
  ): Promise<CollectionDef> {
    // Until access rules arrive, records are superuser-only; the check comes first so an
    // anonymous caller learns nothing, not even whether the collection exists.
    requireSuperuser(ctx)
    // Inside a caller's transaction (batch) the schema was refreshed before it began; reading
    // the schema version outside it would wait forever for SQLite's one connection.
    if (!tx) await registry.refreshIfStale()
    return registry.get(name)
  }

  function filterValues(ctx: RequestContext): FilterValues {
    return {
      now: clock.now().toISOString(),
      auth: ctx.auth?.record ?? null,
      body: {},
      query: ctx.query,
    }
  }

  async function list(ctx: RequestContext, name: string, params: ListParams): Promise<RecordPage> {
    const collection = await collectionFor(ctx, name)
    const filter = checkListFilter(collection, registry, params.filter)
    const sort = parseSort(collection, registry, params.sort)
    const expand = parseExpand(collection, registry, params.expand)
    const projection = parseFields(collection, expand, params.fields)
    const { page, perPage } = parsePaging(params)
    if (params.count !== undefined && params.count !== 'true' && params.count !== 'false') {
      throw new EngineError('ER_QUERY_INVALID', 'count: must be true or false', {
        errors: { count: [{ code: 'invalid', message: 'must be true or false' }] },
      })
    }
    const where = filter ? [{ expr: filter, values: filterValues(ctx) }] : []
    const scope = `${collection.id}\n${params.filter ?? ''}\n${params.sort ?? ''}`
    const after = params.cursor ? decodeCursor(deps.secret, scope, params.cursor) : undefined
    if (after && params.page !== undefined) {
      throw new EngineError('ER_QUERY_INVALID', 'Use either page or cursor, not both.', {
        errors: { cursor: [{ code: 'invalid', message: 'cannot be combined with page' }] },
      })
    }
    // One row more than asked tells whether another page exists, with no count query.
    const result = await store.selectRecords({
      collection,
      where,
      sort,
      limit: perPage + 1,
      ...(after ? { after } : { offset: (page - 1) * perPage }),
    })
    const hasMore = result.rows.length > perPage
    const rows = result.rows.slice(0, perPage)
    const showHidden = ctx.auth?.isSuperuser === true
    for (const row of rows) toApiRecord(collection, row, showHidden)
    await expandRelations(store, rows, expand, showHidden)
    const lastSort = result.sortValues[rows.length - 1]
    const out: RecordPage = {
      items: rows.map((row) => projectRecord(row, projection)),
      page: after ? 1 : page,
      perPage,
      nextCursor: hasMore && lastSort ? encodeCursor(deps.secret, scope, lastSort) : null,
    }
    if (params.count === 'true') out.totalItems = await store.countRecords(collection, where)
    return out
  }

  async function view(
    ctx: RequestContext,
    name: string,
    id: string,
    params: ViewParams = {},
  ): Promise<Row> {
    const collection = await collectionFor(ctx, name)
    const expand = parseExpand(collection, registry, params.expand)
    const projection = parseFields(collection, expand, params.fields)
    const row = await findRow(store, collection, id)
    const showHidden = ctx.auth?.isSuperuser === true
    toApiRecord(collection, row, showHidden)
    await expandRelations(store, [row], expand, showHidden)
    return projectRecord(row, projection)
  }

  /** Creates a record; `tx` joins a caller's transaction (batch). */
  async function create(
    ctx: RequestContext,
    name: string,
    body: unknown,
    tx: StoreSession | undefined = undefined,
  ): Promise<Row> {
    const collection = await collectionFor(ctx, name, tx)
    const input = validateCreateInput(collection, body)
    const values = await hashInputPassword(collection, input, deps.passwords)
    const row = newRow(collection, input, values, clock.now().toISOString())
    const id = row.id as string
    return inTransaction(tx, async (session) => {
      await checkRelationsExist(session, registry, collection, row, id)
      await session.insertRecord(collection, row)
      return readBackAndRecord(ctx, session, collection, id, 'create')
    })
  }

  async function update(
    ctx: RequestContext,
    name: string,
    id: string,
    body: unknown,
    tx: StoreSession | undefined = undefined,
  ): Promise<Row> {
    const collection = await collectionFor(ctx, name, tx)
    const input = validateUpdateInput(collection, body, id)
    const values = await hashInputPassword(collection, input, deps.passwords)
    if (collection.type === 'auth' && 'email' in values) values.tokenKey ??= newTokenKey()
    stampDates(collection, values, clock.now().toISOString(), false)
    return inTransaction(tx, async (session) => {
      await findRow(session, collection, id)
      await checkRelationsExist(session, registry, collection, values, id)
      await session.updateRecord(collection, id, values)
      return readBackAndRecord(ctx, session, collection, id, 'update')
    })
  }

  async function remove(
    ctx: RequestContext,
    name: string,
    id: string,
    tx: StoreSession | undefined = undefined,
  ): Promise<void> {
    const collection = await collectionFor(ctx, name, tx)
    await inTransaction(tx, async (session) => {
      const row = await findRow(session, collection, id)
      await deleteWithRelations(session, registry, collection, row, clock.now().toISOString())
    })
  }

  async function inTransaction<T>(
    tx: StoreSession | undefined,
    work: (session: StoreSession) => Promise<T>,
  ): Promise<T> {
    if (tx) return work(tx)
    const result = await store.transaction(work)
    deps.onCommit?.()
    return result
  }

  /** A transaction for several writes (batch), on the schema as it is when it starts. */
  async function transaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    await registry.refreshIfStale()
    const result = await store.transaction(work)
    deps.onCommit?.()
    return result
  }

  /**
   * Which of `ids` in collection `name` the caller may view and that match `filter` now: ONE
   * query `id IN (…) AND <view rule> AND <filter>` (realtime asks this once per event batch and
   * subscriber identity). Called with no ids it only checks access and the filter (subscribe).
   */
  async function visibleRecords(
    ctx: RequestContext,
    name: string,
    ids: readonly string[],
    filter?: string,
  ): Promise<Set<string>> {
    const collection = await collectionFor(ctx, name)
    const checked = checkListFilter(collection, registry, filter)
    if (ids.length === 0) return new Set()
    const result = await store.selectRecords({
      collection,
      ids,
      where: checked ? [{ expr: checked, values: filterValues(ctx) }] : [],
      sort: [{ path: { field: 'id' }, desc: false }],
      limit: ids.length,
    })
    return new Set(result.rows.map((row) => row.id as string))
  }

  /**
   * Whether the caller could view a record that is now deleted, judged on its last snapshot.
   * Until view rules exist this is the collection-level check (superusers see every delete);
   * the subscription filter is not applied to deletes (see README, "Realtime").
   */
  async function mayViewDeleted(ctx: RequestContext, name: string): Promise<boolean> {
    await collectionFor(ctx, name)
    return true
  }

  return {
    list,
    view,
    create,
    update,
    remove,
    transaction,
    visibleRecords,
    mayViewDeleted,
  }
}

/**
 * The record as written, read in the same session (a batch sees its own writes), and its change
 * event added to the transaction's outbox.
 */
async function readBackAndRecord(
  ctx: RequestContext,
  session: StoreSession,
  collection: CollectionDef,
  id: string,
  action: 'create' | 'update',
): Promise<Row> {
  const row = await findRow(session, collection, id)
  session.recordChange({
    collection: collection.name,
    recordId: id,
    action,
    record: changeSnapshot(collection, row),
  })
  return toApiRecord(collection, row, ctx.auth?.isSuperuser === true)
}

async function findRow(store: StoreSession, collection: CollectionDef, id: string): Promise<Row> {
  const [row] = await store.selectByIds(collection, [id])
  if (!row)
    throw new EngineError(
      'ER_RECORD_NOT_FOUND',
      `There is no record "${id}" in "${collection.name}".`,
    )
  return row
}
