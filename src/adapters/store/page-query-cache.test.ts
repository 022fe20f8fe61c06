import { describe, expect, it } from 'vitest'
import type { CheckedExpr } from '../../core/filter/checked.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { FilterValues } from './compile-filter-values.js'
import { cachedPageQuery, fillSlots, slot, type CompiledPage } from './page-query-cache.js'
import type { Condition, SortTerm } from './store.js'

const posts = { id: 'c1', name: 'posts' } as unknown as CollectionDef
const sort: SortTerm[] = [{ path: { field: 'id' }, desc: false }]
const expr = (name: string) => ({ kind: 'name', name }) as unknown as CheckedExpr
const values = (over: Partial<FilterValues> = {}): FilterValues => ({
  now: '2026-01-01T00:00:00.000Z',
  auth: null,
  body: {},
  query: {},
  ...over,
})

/** A compile that reads the named macro values and counts its calls. */
function compiler(reads: (keyof FilterValues)[]) {
  let calls = 0
  const compile = (where: Condition[]): CompiledPage => {
    calls++
    const bound = where.flatMap((c) => reads.map((name) => JSON.stringify(c.values[name])))
    return { sql: `select … /* ${calls} */`, parameters: bound }
  }
  return { compile, calls: () => calls }
}

describe('cachedPageQuery', () => {
  it('leaves slots open in a statement, for fillSlots to fill per request', () => {
    const page = {
      sql: 'select … where (r.views, r.id) < (?, ?) limit ?',
      parameters: [slot(0), slot(1), 21],
    }
    expect(fillSlots(page, [100, 'abc']).parameters).toEqual([100, 'abc', 21])
    expect(fillSlots(page, [7, 'x']).parameters).toEqual([7, 'x', 21])
    expect(page.parameters[0]).toBe(slot(0))
  })

  it('compiles a shape once while the values it read stay the same', () => {
    const collection = { ...posts }
    const { compile, calls } = compiler([])
    const where = [{ expr: expr('a'), values: values() }]
    const first = cachedPageQuery('sqlite', collection, where, sort, 21, 0, 'page', compile)
    const again = [{ expr: where[0]!.expr, values: values({ query: { x: '1' } }) }]
    expect(cachedPageQuery('sqlite', collection, again, sort, 21, 0, 'page', compile)).toBe(first)
    expect(calls()).toBe(1)
    // Another limit, offset, order, dialect, expression or definition is another statement.
    cachedPageQuery('sqlite', collection, where, sort, 11, 0, 'page', compile)
    cachedPageQuery('sqlite', collection, where, sort, 21, 20, 'page', compile)
    cachedPageQuery(
      'sqlite',
      collection,
      where,
      [{ ...sort[0]!, desc: true }],
      21,
      0,
      'page',
      compile,
    )
    cachedPageQuery('postgres', collection, where, sort, 21, 0, 'page', compile)
    cachedPageQuery(
      'sqlite',
      collection,
      [{ ...where[0]!, expr: expr('b') }],
      sort,
      21,
      0,
      'page',
      compile,
    )
    cachedPageQuery('sqlite', { ...collection }, where, sort, 21, 0, 'page', compile)
    cachedPageQuery('sqlite', collection, where, sort, 21, 0, 'after:v', compile)
    expect(calls()).toBe(8)
  })

  it('keys on exactly the macro values the compile read', () => {
    const collection = { ...posts }
    const { compile, calls } = compiler(['auth'])
    const owner = expr('owner')
    const as = (id: string | number | null) => [
      { expr: owner, values: values({ auth: id === null ? null : { id } }) },
    ]
    const ann = cachedPageQuery('sqlite', collection, as('ann'), sort, 21, 0, 'page', compile)
    const bob = cachedPageQuery('sqlite', collection, as('bob'), sort, 21, 0, 'page', compile)
    expect(bob).not.toBe(ann)
    expect(bob.parameters).toEqual(['{"id":"bob"}'])
    expect(cachedPageQuery('sqlite', collection, as('ann'), sort, 21, 0, 'page', compile)).toBe(ann)
    // Values that print alike but differ in type are different keys.
    cachedPageQuery('sqlite', collection, as(1), sort, 21, 0, 'page', compile)
    const text = cachedPageQuery('sqlite', collection, as('1'), sort, 21, 0, 'page', compile)
    expect(text.parameters).toEqual(['{"id":"1"}'])
    cachedPageQuery('sqlite', collection, as(null), sort, 21, 0, 'page', compile)
    expect(calls()).toBe(5)
  })

  it('never keeps a statement that bound @now, or values with no exact key', () => {
    const collection = { ...posts }
    const now = compiler(['now'])
    const where = [{ expr: expr('fresh'), values: values() }]
    cachedPageQuery('sqlite', collection, where, sort, 21, 0, 'page', now.compile)
    cachedPageQuery('sqlite', collection, where, sort, 21, 0, 'page', now.compile)
    expect(now.calls()).toBe(2)
    const dated = compiler(['auth'])
    const odd = [{ expr: expr('odd'), values: values({ auth: { at: new Date(0) } }) }]
    cachedPageQuery('sqlite', collection, odd, sort, 21, 0, 'page', dated.compile)
    cachedPageQuery('sqlite', collection, odd, sort, 21, 0, 'page', dated.compile)
    expect(dated.calls()).toBe(2)
  })
})
