import type { CollectionDef } from '../../core/schema/types.js'
import type { Condition, Row, StoreSession } from '../../adapters/store/store.js'
import type { ExpandNode } from './list-query.js'
import { expandTooLarge, type ExpandLimits } from './expand-limits.js'
import { toApiRecord } from './record-view.js'

export interface ExpandOptions {
  showHidden: boolean
  /**
   * The target's view rule as SQL conditions for this caller, or null when it grants nothing:
   * records the caller may not view are left out of `expand` as if they did not exist.
   */
  visible(target: CollectionDef): Condition[] | null
  limits: ExpandLimits
}

/**
 * How many times each record of a level appears in the response. A record reached from several
 * parents (one author of 500 posts) is written out once per parent, its own expansions with it,
 * so `expand=author.posts_via_author` counts the author's posts 500 times. Absent: once each.
 */
type Weights = Map<Row, number> | undefined

interface Walk {
  store: StoreSession
  options: ExpandOptions
  /** Expanded records this response may still hold, every relation and level together. */
  remaining: number
}

/**
 * Fills `expand` on each record, one batched query per relation per level (never one per
 * record): `expand=author.team` over 50 posts runs two queries, whatever the page size, each
 * with the target's view rule in its WHERE.
 *
 * Bounded, never truncated: a relation holding more than `limits.maxPerRelation` records for
 * one record, or a response that would hold more than `limits.maxRecords` expanded records
 * (counted as written out, nested repeats included), is refused with ER_EXPAND_TOO_LARGE
 * naming the expand path. The queries read at most one record more than the budget allows.
 */
export async function expandRelations(
  store: StoreSession,
  rows: Row[],
  nodes: readonly ExpandNode[],
  options: ExpandOptions,
): Promise<void> {
  if (rows.length === 0 || nodes.length === 0) return
  await expandLevel(
    { store, options, remaining: options.limits.maxRecords },
    rows,
    undefined,
    nodes,
    '',
  )
}

async function expandLevel(
  walk: Walk,
  rows: Row[],
  weights: Weights,
  nodes: readonly ExpandNode[],
  prefix: string,
): Promise<void> {
  for (const node of nodes) {
    const path = prefix + node.name
    const nested = node.children.length > 0
    const expanded =
      node.direction === 'forward'
        ? await expandForward(walk, rows, weights, node, path, nested)
        : await expandBack(walk, rows, weights, node, path, nested)
    if (nested && expanded.rows.length > 0) {
      await expandLevel(walk, expanded.rows, expanded.weights, node.children, `${path}.`)
    }
  }
}

function expandSlot(row: Row): Record<string, unknown> {
  return ((row.expand as Record<string, unknown> | undefined) ?? (row.expand = {})) as Record<
    string,
    unknown
  >
}

/** Spends the budget for `related` appearing under a parent of weight `weight`. */
function spend(walk: Walk, weight: number, path: string): void {
  walk.remaining -= weight
  if (walk.remaining < 0) throw expandTooLarge('response', path, walk.options.limits.maxRecords)
}

function addWeight(weights: Map<Row, number>, row: Row, weight: number): void {
  weights.set(row, (weights.get(row) ?? 0) + weight)
}

interface Expanded {
  /** The distinct records read for this relation. */
  rows: Row[]
  /** Their weights, when a nested level needs them. */
  weights: Weights
}

async function expandForward(
  walk: Walk,
  rows: Row[],
  parentWeights: Weights,
  node: ExpandNode,
  path: string,
  nested: boolean,
): Promise<Expanded> {
  const { options } = walk
  const where = options.visible(node.target)
  if (where === null) return { rows: [], weights: undefined }
  const ids = new Set<string>()
  for (const row of rows) {
    const value = row[node.field]
    if (Array.isArray(value)) for (const id of value) ids.add(id as string)
    else if (typeof value === 'string' && value !== '') ids.add(value)
  }
  const found = await selectVisible(walk, node.target, [...ids], where, path)
  const byId = new Map<string, Row>()
  for (const record of found) {
    byId.set(record.id as string, toApiRecord(node.target, record, options.showHidden))
  }
  const weights = nested ? new Map<Row, number>() : undefined
  const { maxPerRelation } = options.limits
  for (const row of rows) {
    const value = row[node.field]
    const weight = parentWeights?.get(row) ?? 1
    if (Array.isArray(value)) {
      const list: Row[] = []
      for (const id of value) {
        const record = byId.get(id as string)
        if (record !== undefined) list.push(record)
      }
      if (list.length > maxPerRelation)
        throw expandTooLarge('relation', path, maxPerRelation, row.id as string)
      spend(walk, weight * list.length, path)
      if (weights) for (const record of list) addWeight(weights, record, weight)
      expandSlot(row)[node.name] = list
    } else if (typeof value === 'string') {
      const record = byId.get(value)
      if (record === undefined) continue
      spend(walk, weight, path)
      if (weights) addWeight(weights, record, weight)
      expandSlot(row)[node.name] = record
    }
  }
  return { rows: found, weights }
}

/**
 * The visible records among `ids`. Every one is written out at least once, so more than the
 * remaining budget is already too many: ids are read in chunks that stop there, keeping what
 * is read bounded even when the parents name many ids (multi relations with a large maxSelect).
 */
async function selectVisible(
  walk: Walk,
  target: CollectionDef,
  ids: string[],
  where: Condition[],
  path: string,
): Promise<Row[]> {
  const chunk = Math.max(walk.remaining + 1, 500)
  if (ids.length <= chunk) return walk.store.selectByIds(target, ids, where)
  const found: Row[] = []
  for (let i = 0; i < ids.length; i += chunk) {
    found.push(...(await walk.store.selectByIds(target, ids.slice(i, i + chunk), where)))
    if (found.length > walk.remaining)
      throw expandTooLarge('response', path, walk.options.limits.maxRecords)
  }
  return found
}

async function expandBack(
  walk: Walk,
  rows: Row[],
  parentWeights: Weights,
  node: ExpandNode,
  path: string,
  nested: boolean,
): Promise<Expanded> {
  const { options } = walk
  const where = options.visible(node.target)
  if (where === null) return { rows: [], weights: undefined }
  const field = node.target.fields.find((f) => f.name === node.field)
  if (!field) return { rows: [], weights: undefined }
  // Each record read points at one of these parents at least, so it is written out at least
  // once: one more than the budget is enough to know the response would be too large.
  const referencing = await walk.store.selectReferencing(
    node.target,
    field,
    rows.map((r) => r.id as string),
    where,
    walk.remaining + 1,
  )
  if (referencing.length > walk.remaining)
    throw expandTooLarge('response', path, options.limits.maxRecords)
  const byParent = new Map<string, Row[]>()
  for (const record of referencing) {
    const value = record[node.field]
    const parents = Array.isArray(value) ? (value as string[]) : [value as string]
    toApiRecord(node.target, record, options.showHidden)
    for (const parent of parents) {
      const list = byParent.get(parent)
      if (list) list.push(record)
      else byParent.set(parent, [record])
    }
  }
  const weights = nested ? new Map<Row, number>() : undefined
  const { maxPerRelation } = options.limits
  for (const row of rows) {
    const list = byParent.get(row.id as string) ?? []
    if (list.length > maxPerRelation)
      throw expandTooLarge('relation', path, maxPerRelation, row.id as string)
    const weight = parentWeights?.get(row) ?? 1
    spend(walk, weight * list.length, path)
    if (weights) for (const record of list) addWeight(weights, record, weight)
    expandSlot(row)[node.name] = list
  }
  return { rows: referencing, weights }
}
