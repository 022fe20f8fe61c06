import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCollection,
  createRecord,
  expectProblem,
  listAll,
  listRecords,
} from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

interface Seed {
  id: string
  title: string | null
  rank: number | null
  author: string | null
}

const authors = [
  { id: 'au1', name: 'Zed' },
  { id: 'au2', name: 'amy' },
  { id: 'au3', name: 'Bea' },
  { id: 'au4', name: null },
]

// Ids are chosen so that id order differs from insertion order; text includes case and accents.
const seeds: Seed[] = Array.from({ length: 23 }, (_, i) => ({
  id: `r${String((i * 7) % 23).padStart(2, '0')}`,
  title: i % 6 === 5 ? null : (['b', 'B', 'a', 'é', 'A', 'ab'][i % 6] as string),
  rank: i % 4 === 3 ? null : (i % 5) - 2,
  author: i % 5 === 4 ? null : (authors[i % 4]?.id as string),
}))

type Key = (s: Seed) => string | number | null
const authorName = (s: Seed) => authors.find((a) => a.id === s.author)?.name ?? null

/** The order the API promises: nulls smallest, text bytewise, `id` last in the last key's direction. */
function expectedOrder(keys: [Key, boolean][]): string[] {
  const all: [Key, boolean][] = [...keys, [(s) => s.id, keys.at(-1)?.[1] ?? false]]
  const compare = (a: Seed, b: Seed) => {
    for (const [key, desc] of all) {
      const x = key(a)
      const y = key(b)
      if (x === y) continue
      const less =
        x === null
          ? true
          : y === null
            ? false
            : typeof x === 'number'
              ? x < (y as number)
              : Buffer.compare(Buffer.from(x as string), Buffer.from(y as string)) < 0
      return (less ? -1 : 1) * (desc ? -1 : 1)
    }
    return 0
  }
  return [...seeds].sort(compare).map((s) => s.id)
}

const sorts: [string, [Key, boolean][]][] = [
  ['title', [[(s) => s.title, false]]],
  ['-title', [[(s) => s.title, true]]],
  ['rank', [[(s) => s.rank, false]]],
  [
    '-rank,title',
    [
      [(s) => s.rank, true],
      [(s) => s.title, false],
    ],
  ],
  [
    'title,-rank',
    [
      [(s) => s.title, false],
      [(s) => s.rank, true],
    ],
  ],
  [
    'author.name,title',
    [
      [authorName, false],
      [(s) => s.title, false],
    ],
  ],
  [
    '-author.name,-rank',
    [
      [authorName, true],
      [(s) => s.rank, true],
    ],
  ],
  ['-id', [[(s) => s.id, true]]],
  [
    '+rank, title',
    [
      [(s) => s.rank, false],
      [(s) => s.title, false],
    ],
  ],
]

const orders = new Map<string, Map<string, string[]>>()

describe.each(dialects)('sort, paging and cursors on %s', (dialect) => {
  let t: TestEngine
  const seen = new Map<string, string[]>()
  orders.set(dialect, seen)
  const url = (query: Record<string, string>) =>
    `/api/collections/items/records?${new URLSearchParams(query)}`

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'authors', fields: [{ name: 'name', type: 'text' }] })
    await createCollection(t, {
      name: 'items',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'rank', type: 'number' },
        { name: 'author', type: 'relation', collection: 'authors' },
        { name: 'tags', type: 'select', values: ['x', 'y'], maxSelect: 2 },
        { name: 'meta', type: 'json' },
      ],
    })
    for (const author of authors) await createRecord(t, 'authors', author)
    for (const seed of seeds) await createRecord(t, 'items', seed)
  })
  afterAll(async () => {
    await t.close()
  })

  it.each(sorts)('sort=%s orders as promised, in one page and by cursor', async (sort, keys) => {
    const expected = expectedOrder(keys)
    const one = await listRecords(t, 'items', { sort, perPage: '500' })
    expect(one.items.map((r) => r.id)).toEqual(expected)
    expect(one.nextCursor).toBeNull()
    const walked = await listAll(t, 'items', { sort, perPage: '4' })
    expect(walked.map((r) => r.id)).toEqual(expected)
    seen.set(sort, expected)
  })

  it('pages with page/perPage', async () => {
    const expected = expectedOrder([[(s) => s.rank, false]])
    const second = await listRecords(t, 'items', { sort: 'rank', page: '2', perPage: '5' })
    expect(second).toMatchObject({ page: 2, perPage: 5 })
    expect(second.items.map((r) => r.id)).toEqual(expected.slice(5, 10))
    expect(second).not.toHaveProperty('totalItems')
    const last = await listRecords(t, 'items', { sort: 'rank', page: '5', perPage: '5' })
    expect(last.items.map((r) => r.id)).toEqual(expected.slice(20))
    expect(last.nextCursor).toBeNull()
    expect((await listRecords(t, 'items', { page: '9', perPage: '5' })).items).toEqual([])
    expect((await listRecords(t, 'items')).perPage).toBe(30)
  })

  it('visits every record exactly once by cursor, under a filter', async () => {
    const walked = await listAll(t, 'items', {
      filter: 'rank != null',
      sort: '-rank',
      perPage: '3',
    })
    const ids = walked.map((r) => r.id as string)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.sort()).toEqual(
      seeds
        .filter((s) => s.rank !== null)
        .map((s) => s.id)
        .sort(),
    )
  })

  it.each([
    ['rank > -2', '-rank'],
    ['rank >= -1 && title != null', '-rank,title'],
    ['rank < 2', 'rank'],
  ])('walks filter=%s sort=%s by cursor in the order of one page', async (filter, sort) => {
    // Descending keys that the filter keeps non-null are paged without the null-key read.
    const one = await listRecords(t, 'items', { filter, sort, perPage: '500' })
    const walked = await listAll(t, 'items', { filter, sort, perPage: '3' })
    expect(walked.map((r) => r.id)).toEqual(one.items.map((r) => r.id))
  })

  it('stays stable when records are inserted between pages', async () => {
    const query = { sort: 'rank,title', perPage: '5' }
    const before = await listAll(t, 'items', { sort: 'rank,title', perPage: '500' })
    const first = await listRecords(t, 'items', query)
    const collected = [...first.items]
    let cursor = first.nextCursor
    // Inserted both before and after the cursor's position, and with null sort keys.
    const inserted = [
      { id: 'new1', title: 'a', rank: -5 },
      { id: 'new2', title: 'zz', rank: 50 },
      { id: 'new3', title: null, rank: null },
      { id: 'new4', title: 'b', rank: 0 },
    ]
    for (const [i, record] of inserted.entries()) {
      await createRecord(t, 'items', record)
      if (!cursor) break
      const page = await listRecords(t, 'items', { ...query, cursor })
      collected.push(...page.items)
      cursor = page.nextCursor
      if (i === inserted.length - 1) {
        while (cursor) {
          const rest = await listRecords(t, 'items', { ...query, cursor })
          collected.push(...rest.items)
          cursor = rest.nextCursor
        }
      }
    }
    const ids = collected.map((r) => r.id as string)
    expect(new Set(ids).size).toBe(ids.length)
    for (const record of before) expect(ids).toContain(record.id)
    // What was seen keeps the promised relative order.
    const original = before.map((r) => r.id)
    expect(ids.filter((id) => original.includes(id))).toEqual(original)
    for (const record of inserted) {
      const res = await t.call({
        method: 'DELETE',
        url: `/api/collections/items/records/${record.id}`,
      })
      expect(res.statusCode).toBe(204)
    }
  })

  it('refuses a tampered, foreign or malformed cursor with 400 ER_CURSOR_INVALID', async () => {
    const page = await listRecords(t, 'items', { sort: 'title', filter: 'rank > -5', perPage: '2' })
    const cursor = page.nextCursor as string
    expect(cursor).toEqual(expect.any(String))
    const [payload = '', signature = ''] = cursor.split('.')
    const flipped = payload.slice(0, -2) + (payload.at(-2) === 'A' ? 'B' : 'A') + payload.at(-1)
    const forged = Buffer.from(JSON.stringify(['x', ['zzz', 'zzz']])).toString('base64url')
    const cases: Record<string, string>[] = [
      { sort: 'title', filter: 'rank > -5', cursor: `${flipped}.${signature}` },
      { sort: 'title', filter: 'rank > -5', cursor: `${payload}.${signature.slice(1)}x` },
      { sort: 'title', filter: 'rank > -5', cursor: `${forged}.${signature}` },
      { sort: 'title', filter: 'rank > -4', cursor },
      { sort: '-title', filter: 'rank > -5', cursor },
      { sort: 'title', cursor },
      { sort: 'title', filter: 'rank > -5', cursor: 'abc' },
      { sort: 'title', filter: 'rank > -5', cursor: `${cursor}.x` },
      { sort: 'title', filter: 'rank > -5', cursor: '.' },
    ]
    for (const query of cases) {
      expectProblem(await t.call({ method: 'GET', url: url(query) }), 400, 'ER_CURSOR_INVALID')
    }
    const other = await t.call({
      method: 'GET',
      url: `/api/collections/authors/records?${new URLSearchParams({ sort: 'title', filter: 'rank > -5', cursor })}`,
    })
    expect(other.statusCode).toBe(400)
    // The untouched cursor still works, and a cursor cannot be combined with page.
    expect(
      (
        await t.call({
          method: 'GET',
          url: url({ sort: 'title', filter: 'rank > -5', perPage: '2', cursor }),
        })
      ).statusCode,
    ).toBe(200)
    expectProblem(
      await t.call({
        method: 'GET',
        url: url({ sort: 'title', filter: 'rank > -5', page: '2', cursor }),
      }),
      400,
      'ER_QUERY_INVALID',
    )
  })

  it('adds totalItems only with count=true', async () => {
    expect((await listRecords(t, 'items', { count: 'true', perPage: '2' })).totalItems).toBe(
      seeds.length,
    )
    const filtered = await listRecords(t, 'items', {
      count: 'true',
      filter: 'rank = null',
      perPage: '1',
    })
    expect(filtered.totalItems).toBe(seeds.filter((s) => s.rank === null).length)
    expect(await listRecords(t, 'items', { count: 'false' })).not.toHaveProperty('totalItems')
    expectProblem(
      await t.call({ method: 'GET', url: url({ count: 'yes' }) }),
      400,
      'ER_QUERY_INVALID',
    )
  })

  it.each([
    ['perPage', '0'],
    ['perPage', '501'],
    ['perPage', 'abc'],
    ['perPage', '-1'],
    ['perPage', '1.5'],
    ['perPage', '1e2'],
    ['page', '0'],
    ['page', 'x'],
  ])('refuses %s=%s with 400 naming it', async (name, value) => {
    const res = await t.call({ method: 'GET', url: url({ [name]: value }) })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toHaveProperty(name)
  })

  it('accepts perPage=500 and perPage=1', async () => {
    expect((await listRecords(t, 'items', { perPage: '500' })).items).toHaveLength(seeds.length)
    const one = await listRecords(t, 'items', { perPage: '1' })
    expect(one.items).toHaveLength(1)
    expect(one.nextCursor).toEqual(expect.any(String))
  })

  it.each([
    'nope',
    'tags',
    'meta',
    'author.nope',
    'author.name.x',
    'title;drop table items',
    '-',
    'author.id.name',
  ])('refuses sort=%s with 400 ER_QUERY_INVALID', async (sort) => {
    const problem = expectProblem(
      await t.call({ method: 'GET', url: url({ sort }) }),
      400,
      'ER_QUERY_INVALID',
    )
    expect(problem.errors).toHaveProperty('sort')
  })
})

describe.runIf(dialects.length > 1)('every dialect sorts alike', () => {
  it('produces the same orders on SQLite and PostgreSQL', () => {
    const [first, ...rest] = [...orders.values()]
    expect(first?.size).toBe(sorts.length)
    for (const other of rest)
      expect(Object.fromEntries(other)).toEqual(Object.fromEntries(first ?? new Map()))
  })
})
