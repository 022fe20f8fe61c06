import { EngineError } from '../../core/errors/index.js'
import { checkFilter, type CheckedExpr } from '../../core/filter/check.js'
import { parseOptionalFilter } from '../../core/filter/parser.js'
import { resolveFields } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { SortTerm } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { LIST_LIMITS } from './records-deps.js'
import type { FieldProjection } from './record-view.js'

/** One relation to expand, and what to expand below it. */
export interface ExpandNode {
  name: string
  /** `forward`: a relation field of this record; `back`: `<collection>_via_<field>`. */
  direction: 'forward' | 'back'
  field: string
  target: CollectionDef
  multi: boolean
  children: ExpandNode[]
}

function badParam(name: string, message: string): EngineError {
  return new EngineError('ER_QUERY_INVALID', `${name}: ${message}`, {
    errors: { [name]: [{ code: 'invalid', message }] },
  })
}

const filterCache = new WeakMap<CollectionDef, Map<string, CheckedExpr | null>>()
const FILTER_CACHE_SIZE = 256

/** Which collections a caller's filter or sort may reach through relations; null: all. */
export type TraversalGuard = ((target: CollectionDef) => boolean) | null

/**
 * Parses and checks `?filter=` against the collection; the result is cached per collection
 * definition (a schema change makes a new definition, so the cache can never go stale) and
 * per guard kind (superusers reach every collection, others only what `guard` allows).
 */
export function checkListFilter(
  collection: CollectionDef,
  registry: SchemaRegistry,
  text: string | undefined,
  guard: TraversalGuard = null,
): CheckedExpr | null {
  if (text === undefined) return null
  let cache = filterCache.get(collection)
  if (!cache) filterCache.set(collection, (cache = new Map()))
  const key = `${guard ? 'g' : 's'}${text}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const expr = parseOptionalFilter(text)
  const checked =
    expr &&
    checkFilter(expr, {
      collection,
      findCollection: (n) => registry.find(n),
      mode: 'filter',
      ...(guard ? { canTraverse: guard } : {}),
    })
  if (cache.size >= FILTER_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  cache.set(key, checked)
  return checked
}

const sortCache = new WeakMap<CollectionDef, Map<string, readonly SortTerm[]>>()

/**
 * `sort=-created,title,author.name` → sort terms, with `id` appended as the tiebreaker. Kept
 * per collection definition and guard kind like filters (every schema change replaces every
 * definition, so a related collection's change cannot leave a stale term behind).
 */
export function parseSort(
  collection: CollectionDef,
  registry: SchemaRegistry,
  text: string | undefined,
  guard: TraversalGuard = null,
): readonly SortTerm[] {
  let cache = sortCache.get(collection)
  if (!cache) sortCache.set(collection, (cache = new Map()))
  const key = `${guard ? 'g' : 's'}${text ?? ''}`
  let terms = cache.get(key)
  if (!terms) {
    terms = Object.freeze(buildSort(collection, registry, text, guard))
    if (cache.size >= FILTER_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
    cache.set(key, terms)
  }
  return terms
}

function buildSort(
  collection: CollectionDef,
  registry: SchemaRegistry,
  text: string | undefined,
  guard: TraversalGuard,
): SortTerm[] {
  const terms: SortTerm[] = []
  const parts = (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  if (parts.length > LIST_LIMITS.maxSortTerms)
    throw badParam('sort', `at most ${LIST_LIMITS.maxSortTerms} keys`)
  const fields = resolveFields(collection)
  for (const part of parts) {
    const desc = part.startsWith('-')
    const path = part.replace(/^[-+]/, '').split('.')
    const first = fields.get(path[0] ?? '')
    if (!first || first.hidden)
      throw badParam('sort', `"${path[0]}" is not a field of "${collection.name}"`)
    if (path.length === 1) {
      if (first.multi || first.kind === 'json')
        throw badParam('sort', `"${path[0]}" holds several values and cannot be sorted on`)
      terms.push({ path: { field: first.name }, desc })
      continue
    }
    const found = first.relation && !first.multi ? registry.find(first.relation) : undefined
    // Sorting by a related field reveals its order, so it needs the same reach as a filter.
    const target = found && (guard === null || guard(found)) ? found : undefined
    if (!target || path.length > 2)
      throw badParam(
        'sort',
        `"${part.replace(/^[-+]/, '')}": sort follows at most one single relation`,
      )
    const second = resolveFields(target).get(path[1] ?? '')
    if (!second || second.hidden || second.multi || second.kind === 'json') {
      throw badParam('sort', `"${path[1]}" is not a sortable field of "${target.name}"`)
    }
    terms.push({ path: { relation: first.name, target, field: second.name }, desc })
  }
  if (!terms.some((t) => 'field' in t.path && !('relation' in t.path) && t.path.field === 'id')) {
    terms.push({ path: { field: 'id' }, desc: terms.at(-1)?.desc ?? false })
  }
  return terms
}

/**
 * `expand=author,comments_via_post.author` → a tree of relations, at most 3 levels deep. A
 * relation through a `hidden` field reads as unknown to non-superusers: expanding it would
 * show which records it links.
 */
export function parseExpand(
  collection: CollectionDef,
  registry: SchemaRegistry,
  text: string | undefined,
  showHidden = false,
): ExpandNode[] {
  const roots: ExpandNode[] = []
  if (text === undefined || text === '') return roots
  let count = 0
  for (const raw of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const path = raw.split('.')
    if (path.length > LIST_LIMITS.maxExpandDepth)
      throw badParam('expand', `"${raw}" is deeper than ${LIST_LIMITS.maxExpandDepth} levels`)
    let level = roots
    let owner = collection
    for (const name of path) {
      let node = level.find((n) => n.name === name)
      if (!node) {
        if (++count > LIST_LIMITS.maxExpandNodes)
          throw badParam('expand', `at most ${LIST_LIMITS.maxExpandNodes} relations`)
        node = resolveExpandNode(owner, registry, name, showHidden)
        level.push(node)
      }
      level = node.children
      owner = node.target
    }
  }
  return roots
}

function resolveExpandNode(
  owner: CollectionDef,
  registry: SchemaRegistry,
  name: string,
  showHidden: boolean,
): ExpandNode {
  const field = owner.fields.find((f) => f.name === name)
  if (field?.type === 'relation' && (showHidden || field.hidden !== true)) {
    const target = registry.find(field.collection)
    if (target)
      return {
        name,
        direction: 'forward',
        field: name,
        target,
        multi: (field.maxSelect ?? 1) > 1,
        children: [],
      }
  }
  const via = /^([A-Za-z_][A-Za-z0-9_]*)_via_([A-Za-z_][A-Za-z0-9_]*)$/.exec(name)
  const source = via ? registry.find(via[1] as string) : undefined
  const back = source?.fields.find((f) => f.name === via?.[2])
  if (
    source &&
    back?.type === 'relation' &&
    back.collection === owner.name &&
    (showHidden || back.hidden !== true)
  ) {
    return { name, direction: 'back', field: back.name, target: source, multi: true, children: [] }
  }
  throw badParam(
    'expand',
    `"${name}" is not a relation of "${owner.name}" (nor <collection>_via_<field>)`,
  )
}

/** `fields=id,title,expand.author.name` → a projection checked against the collection. */
export function parseFields(
  collection: CollectionDef,
  expand: ExpandNode[],
  text: string | undefined,
  showHidden = false,
): FieldProjection | undefined {
  if (text === undefined || text.trim() === '') return undefined
  const root: FieldProjection = { all: false, keys: new Set(), expand: new Map() }
  for (const raw of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    let level = root
    let owner = collection
    let nodes = expand
    const path = raw.split('.')
    for (let i = 0; i < path.length; i++) {
      const name = path[i] as string
      if (name === 'expand' && i < path.length - 1) {
        const relation = path[++i] as string
        const node = nodes.find((n) => n.name === relation)
        if (!node) throw badParam('fields', `"${raw}": "${relation}" is not in expand`)
        level.keys.add('expand')
        let inner = level.expand.get(relation)
        if (!inner)
          level.expand.set(
            relation,
            (inner = { all: i === path.length - 1, keys: new Set(), expand: new Map() }),
          )
        level = inner
        owner = node.target
        nodes = node.children
        continue
      }
      if (name === '*') level.all = true
      else if (name === 'expand' || isVisibleField(owner, name, showHidden)) level.keys.add(name)
      else throw badParam('fields', `"${name}" is not a field of "${owner.name}"`)
      if (i !== path.length - 1)
        throw badParam('fields', `"${raw}": only expand.<relation> paths may have dots`)
    }
  }
  return root
}

/** Secrets never, `hidden` fields only for superusers: others may not even name them. */
function isVisibleField(collection: CollectionDef, name: string, showHidden: boolean): boolean {
  const field = resolveFields(collection).get(name)
  if (field === undefined || name === 'password' || name === 'tokenKey') return false
  return showHidden || !field.hidden
}

/** `page`/`perPage` as positive integers within limits. */
export function parsePaging(query: Record<string, string | undefined>): {
  page: number
  perPage: number
} {
  const read = (name: string, fallback: number, max: number): number => {
    const text = query[name]
    if (text === undefined || text === '') return fallback
    if (!/^\d{1,9}$/.test(text)) throw badParam(name, 'must be a whole number')
    const value = Number(text)
    if (value < 1 || value > max) throw badParam(name, `must be from 1 to ${max}`)
    return value
  }
  return {
    page: read('page', 1, LIST_LIMITS.maxPage),
    perPage: read('perPage', LIST_LIMITS.defaultPerPage, LIST_LIMITS.maxPerPage),
  }
}
