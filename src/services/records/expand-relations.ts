import type { CollectionDef } from '../../core/schema/types.js'
import type { Condition, Row, StoreSession } from '../../adapters/store/store.js'
import type { ExpandNode } from './list-query.js'
import { LIST_LIMITS } from './records-deps.js'
import { toApiRecord } from './record-view.js'

export interface ExpandOptions {
  showHidden: boolean
  /**
   * The target's view rule as SQL conditions for this caller, or null when it grants nothing:
   * records the caller may not view are left out of `expand` as if they did not exist.
   */
  visible(target: CollectionDef): Condition[] | null
}

/**
 * Fills `expand` on each record, one batched query per relation per level (never one per
 * record): `expand=author.team` over 50 posts runs two queries, whatever the page size, each
 * with the target's view rule in its WHERE.
 */
export async function expandRelations(
  store: StoreSession,
  rows: Row[],
  nodes: readonly ExpandNode[],
  options: ExpandOptions,
): Promise<void> {
  if (rows.length === 0) return
  for (const node of nodes) {
    const related =
      node.direction === 'forward'
        ? await expandForward(store, rows, node, options)
        : await expandBack(store, rows, node, options)
    if (node.children.length > 0) await expandRelations(store, related, node.children, options)
  }
}

function expandSlot(row: Row): Record<string, unknown> {
  return ((row.expand as Record<string, unknown> | undefined) ?? (row.expand = {})) as Record<
    string,
    unknown
  >
}

async function expandForward(
  store: StoreSession,
  rows: Row[],
  node: ExpandNode,
  { showHidden, visible }: ExpandOptions,
): Promise<Row[]> {
  const where = visible(node.target)
  if (where === null) return []
  const ids = new Set<string>()
  for (const row of rows) {
    const value = row[node.field]
    if (Array.isArray(value)) for (const id of value) ids.add(id as string)
    else if (typeof value === 'string' && value !== '') ids.add(value)
  }
  const found = await store.selectByIds(node.target, [...ids], where)
  const byId = new Map(found.map((r) => [r.id as string, toApiRecord(node.target, r, showHidden)]))
  for (const row of rows) {
    const value = row[node.field]
    if (Array.isArray(value)) {
      expandSlot(row)[node.name] = value
        .map((id) => byId.get(id as string))
        .filter((r) => r !== undefined)
    } else if (typeof value === 'string' && byId.has(value)) {
      expandSlot(row)[node.name] = byId.get(value)
    }
  }
  return found
}

async function expandBack(
  store: StoreSession,
  rows: Row[],
  node: ExpandNode,
  { showHidden, visible }: ExpandOptions,
): Promise<Row[]> {
  const where = visible(node.target)
  if (where === null) return []
  const field = node.target.fields.find((f) => f.name === node.field)
  if (!field) return []
  const referencing = await store.selectReferencing(
    node.target,
    field,
    rows.map((r) => r.id as string),
    where,
  )
  const byParent = new Map<string, Row[]>()
  for (const record of referencing) {
    const value = record[node.field]
    const parents = Array.isArray(value) ? (value as string[]) : [value as string]
    toApiRecord(node.target, record, showHidden)
    for (const parent of parents) {
      const list = byParent.get(parent) ?? []
      if (list.length < LIST_LIMITS.maxBackRelationItems) list.push(record)
      byParent.set(parent, list)
    }
  }
  for (const row of rows) expandSlot(row)[node.name] = byParent.get(row.id as string) ?? []
  return referencing
}
