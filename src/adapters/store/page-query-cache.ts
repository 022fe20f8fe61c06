import type { CheckedExpr } from '../../core/filter/checked.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { FilterValues } from './compile-filter-values.js'
import type { Condition, Dialect, SortTerm } from './store.js'

/** A list statement ready to run: SQL text and its bound values. */
export interface CompiledPage {
  sql: string
  parameters: readonly unknown[]
}

/**
 * One page shape (conditions, order, limit, offset) of one collection: what each condition's
 * compile read of its macro values, and the statements compiled so far, by those values.
 */
interface ShapeEntry {
  reads: Set<string>[]
  byValues: Map<string, unknown>
}

const MAX_SHAPES_PER_COLLECTION = 128
const MAX_VALUES_PER_SHAPE = 64

const shapesByCollection = new WeakMap<CollectionDef, Map<string, ShapeEntry>>()
const exprIds = new WeakMap<CheckedExpr, number>()
let nextExprId = 1

/**
 * The compiled statement of a list page, reused while nothing it was built from has changed.
 * Building and compiling it with Kysely cost about a tenth of a list request's CPU; the same
 * pages are asked for over and over.
 *
 * What a compile depends on, and so what the cache is keyed by:
 * - the collection definition (immutable: a schema change makes a new one, and a new cache);
 * - each condition's checked expression, by identity (rules and filters are checked once per
 *   collection definition and kept, see record-rules.ts and list-query.ts);
 * - the order, limit and offset;
 * - the macro values (`@now`, `@request.auth.*`, `@request.query.*` …) the compile read. These are
 *   not guessed from the expression: the compile runs over a proxy that records every value it
 *   reads, and the entry is keyed by exactly those. An owner rule is thus cached per caller, and
 *   a filter on `@now` is not kept at all (it never repeats).
 *
 * `variant` names anything else the compile's shape depends on (which keyset start values are
 * null). Values that change with every request are bound through slots (`slot`, `fillSlots`).
 */
export function cachedPageQuery<T>(
  dialect: Dialect,
  collection: CollectionDef,
  where: readonly Condition[],
  sort: readonly SortTerm[],
  limit: number,
  offset: number,
  variant: string,
  compile: (where: Condition[]) => T,
): T {
  let shapes = shapesByCollection.get(collection)
  if (!shapes) shapesByCollection.set(collection, (shapes = new Map()))
  const shape = `${variant}|${shapeKey(dialect, where, sort, limit, offset)}`
  let entry = shapes.get(shape)
  if (entry && !readsNow(entry)) {
    const key = valuesKey(entry.reads, where)
    const hit = key === undefined ? undefined : entry.byValues.get(key)
    if (hit !== undefined) return hit as T
  }
  const reads = where.map(() => new Set<string>())
  const compiled = compile(
    where.map((condition, i) => ({
      expr: condition.expr,
      values: recordingReads(condition.values, reads[i] as Set<string>),
    })),
  )
  if (!entry) {
    if (shapes.size >= MAX_SHAPES_PER_COLLECTION) shapes.delete(shapes.keys().next().value!)
    entry = { reads: where.map(() => new Set<string>()), byValues: new Map() }
    shapes.set(shape, entry)
  }
  if (mergeReads(entry.reads, reads)) entry.byValues.clear()
  if (readsNow(entry)) return compiled
  const key = valuesKey(entry.reads, where)
  if (key === undefined) return compiled
  if (entry.byValues.size >= MAX_VALUES_PER_SHAPE) {
    entry.byValues.delete(entry.byValues.keys().next().value!)
  }
  entry.byValues.set(key, compiled)
  return compiled
}

/** `@now` changes every millisecond: a statement that bound it is never asked for again. */
function readsNow(entry: ShapeEntry): boolean {
  return entry.reads.some((names) => names.has('now'))
}

function shapeKey(
  dialect: Dialect,
  where: readonly Condition[],
  sort: readonly SortTerm[],
  limit: number,
  offset: number,
): string {
  let key = `${dialect}|${limit}|${offset}|`
  for (const condition of where) key += `${exprId(condition.expr)},`
  key += '|'
  for (const term of sort) {
    const path = term.path
    key += term.desc ? '-' : '+'
    key +=
      'relation' in path ? `${path.relation}>${path.target.name}.${path.field},` : `${path.field},`
  }
  return key
}

function exprId(expr: CheckedExpr): number {
  let id = exprIds.get(expr)
  if (id === undefined) exprIds.set(expr, (id = nextExprId++))
  return id
}

/** Adds `found` into `into`; true when that added anything. */
function mergeReads(into: Set<string>[], found: Set<string>[]): boolean {
  let grew = false
  found.forEach((names, i) => {
    const target = into[i] as Set<string>
    for (const name of names) {
      if (!target.has(name)) {
        target.add(name)
        grew = true
      }
    }
  })
  return grew
}

/** The values each condition's compile read, encoded; undefined when one has no exact key. */
function valuesKey(reads: readonly Set<string>[], where: readonly Condition[]): string | undefined {
  let key = ''
  for (let i = 0; i < where.length; i++) {
    const values = (where[i] as Condition).values as unknown as Record<string, unknown>
    for (const name of reads[i] as Set<string>) {
      const encoded = encodeValue(values[name])
      if (encoded === undefined) return undefined
      key += `${name}=${encoded};`
    }
    key += '|'
  }
  return key
}

/**
 * An injective text form of a JSON-like value: its type is part of it, so `1`, `"1"` and `true`
 * differ, as do null and undefined. Anything else (a Date, a Buffer) has no key: not cached.
 */
function encodeValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return 'u'
    case 'boolean':
      return value ? 't' : 'f'
    case 'number':
      return `n${value}`
    case 'string':
      return JSON.stringify(value)
    case 'object': {
      if (value === null) return 'z'
      if (Array.isArray(value)) {
        let out = '['
        for (const item of value) {
          const encoded = encodeValue(item)
          if (encoded === undefined) return undefined
          out += `${encoded},`
        }
        return `${out}]`
      }
      const proto = Object.getPrototypeOf(value) as unknown
      if (proto !== Object.prototype && proto !== null) return undefined
      let out = '{'
      for (const [name, item] of Object.entries(value)) {
        const encoded = encodeValue(item)
        if (encoded === undefined) return undefined
        out += `${JSON.stringify(name)}:${encoded},`
      }
      return `${out}}`
    }
    default:
      return undefined
  }
}

/** `values`, noting in `into` the name of every macro value a compile reads from it. */
function recordingReads(values: FilterValues, into: Set<string>): FilterValues {
  const note = (name: string | symbol) => {
    if (typeof name === 'string') into.add(name)
  }
  return new Proxy(values, {
    get(target, name, receiver) {
      note(name)
      return Reflect.get(target, name, receiver) as unknown
    },
    has(target, name) {
      note(name)
      return Reflect.has(target, name)
    },
    ownKeys(target) {
      const names = Reflect.ownKeys(target)
      names.forEach(note)
      return names
    },
    getOwnPropertyDescriptor(target, name) {
      note(name)
      return Reflect.getOwnPropertyDescriptor(target, name)
    },
  })
}

/** A bound value left open in a cached statement, filled per request by `fillSlots`. */
class Slot {
  constructor(readonly index: number) {}
}

const SLOTS: Slot[] = []

/** The slot for the `index`-th value given to `fillSlots`. */
export function slot(index: number): Slot {
  return (SLOTS[index] ??= new Slot(index))
}

/** `page` with each slot replaced by its value. */
export function fillSlots(page: CompiledPage, values: readonly unknown[]): CompiledPage {
  return {
    sql: page.sql,
    parameters: page.parameters.map((p) => (p instanceof Slot ? values[p.index] : p)),
  }
}
