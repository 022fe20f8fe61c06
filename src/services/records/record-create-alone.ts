import type { Condition, Row, Store } from '../../adapters/store/store.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { actorOf, type RequestContext } from '../context.js'
import type { PreparedFiles } from './record-files.js'
import { changeSnapshot, toApiRecord } from './record-view.js'
import type { BeforeWriteHooks } from './records-deps.js'

/** What `createAlone` needs of a prepared create. */
export interface AloneCreate {
  collection: CollectionDef
  row: Row
  rule: Condition[]
  files: PreparedFiles
}

/**
 * Whether a create needs nothing in its transaction but the insert and its change event: a base
 * collection (no password, no auth id to reserve, no audit entry), no before hook (which could
 * read or write in the transaction), no rule left to judge on the stored row, no file and no
 * relation id to check. Such a create is one atomic statement on PostgreSQL (see
 * `Store.insertRecordAlone`); every other create runs as a transaction of its steps.
 */
export function createsAlone(prepared: AloneCreate, hooks: BeforeWriteHooks | undefined): boolean {
  const { collection, row, rule, files } = prepared
  if (collection.type !== 'base' || rule.length > 0 || hooks?.has(collection.name, 'create')) {
    return false
  }
  if (files.ops.size > 0 || files.newFiles.length > 0) return false
  return !collection.fields.some((field) => {
    if (field.type !== 'relation') return false
    const value = row[field.name]
    return Array.isArray(value) ? value.length > 0 : typeof value === 'string' && value !== ''
  })
}

/** The create as one write of the store's, its event built from the row as stored. */
export async function createAlone(
  ctx: RequestContext,
  store: Store,
  prepared: AloneCreate,
): Promise<Row> {
  const { collection, row } = prepared
  const actor = actorOf(ctx)
  const stored = await store.insertRecordAlone(collection, row, (written) => ({
    collection: collection.name,
    recordId: row.id as string,
    action: 'create',
    record: changeSnapshot(collection, written),
    ...(actor ? { actor } : {}),
  }))
  return toApiRecord(collection, stored, ctx.auth?.isSuperuser === true)
}
