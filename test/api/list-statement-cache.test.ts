/**
 * List statements are compiled once and reused (adapters/store/page-query-cache.ts). Reuse must
 * never cross what a statement was built from: each caller's owner rule, each request's
 * `@request.query` values, and `@now`, which moves on every request. Records by id bind their
 * ids as one value, so that statement is reused too, whatever the number of ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkFilter } from '../../src/core/filter/check.js'
import { parseFilter } from '../../src/core/filter/parser.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const PASSWORD = 'a long enough password'

describe.each(await availableDialects())('reused list statements on %s', (dialect) => {
  let t: TestEngine
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}

  const list = async (token: string | null, query: string, collection = 'notes') => {
    const res = await t.call({
      method: 'GET',
      url: `/api/collections/${collection}/records?${query}`,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : { anonymous: true }),
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { items: { title: string }[] }).items.map((item) => item.title).sort()
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    for (const name of ['ann', 'bob']) {
      const user = await createRecord(t, 'users', {
        email: `${name}@example.com`,
        password: PASSWORD,
      })
      ids[name] = user.id as string
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: `${name}@example.com`, password: PASSWORD },
        anonymous: true,
      })
      tokens[name] = (res.json() as { token: string }).token
    }
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'text' },
        { name: 'tag', type: 'text' },
      ],
      rules: { list: 'owner = @request.auth.id && tag = @request.query.tag' },
    })
    for (const owner of ['ann', 'bob']) {
      for (const tag of ['red', 'blue']) {
        await createRecord(t, 'notes', { title: `${owner}-${tag}`, owner: ids[owner], tag })
      }
    }
    await createCollection(t, {
      name: 'bulletins',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'shownFrom', type: 'date' },
      ],
      rules: { list: 'shownFrom <= @now' },
    })
    await createRecord(t, 'bulletins', {
      title: 'old',
      shownFrom: new Date(Date.now() - 60_000).toISOString(),
    })
  })
  afterAll(() => t.close())

  it('gives each caller, and each request value, its own statement', async () => {
    for (let round = 0; round < 3; round++) {
      expect(await list(tokens.ann!, 'tag=red')).toEqual(['ann-red'])
      expect(await list(tokens.bob!, 'tag=red')).toEqual(['bob-red'])
      expect(await list(tokens.ann!, 'tag=blue')).toEqual(['ann-blue'])
      expect(await list(tokens.bob!, 'tag=blue&sort=-title')).toEqual(['bob-blue'])
      expect(await list(null, 'tag=red')).toEqual([])
    }
  })

  it('binds @now afresh on every request', async () => {
    const shownFrom = Date.now() + 1500
    await createRecord(t, 'bulletins', {
      title: 'new',
      shownFrom: new Date(shownFrom).toISOString(),
    })
    // The same list before and after `shownFrom`: a statement kept from the first would hide it.
    const before = await list(null, '', 'bulletins')
    // Asserted only when the request really ran before `shownFrom` (a loaded machine may not).
    if (Date.now() < shownFrom) expect(before).toEqual(['old'])
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, shownFrom - Date.now()) + 100))
    expect(await list(null, '', 'bulletins')).toEqual(['new', 'old'])
  })
})

describe.each(await availableDialects())('records by id on %s', (dialect) => {
  it('binds any number of ids as one value, with or without a rule', async () => {
    const t = await createTestEngine(dialect)
    try {
      await createCollection(t, {
        name: 'items',
        fields: [{ name: 'n', type: 'number' }],
      })
      const items = t.engine.registry.get('items')
      const at = new Date().toISOString()
      const rows = Array.from({ length: 2500 }, (_, i) => ({
        id: `item${i}`,
        created: at,
        updated: at,
        n: i,
      }))
      await t.engine.store.transaction((tx) => tx.insertRecords(items, rows))
      // More ids than SQLite allows bound parameters in one statement (32,766), some unknown.
      const ids = [...rows.map((r) => r.id), ...Array.from({ length: 40_000 }, (_, i) => `x${i}`)]
      const all = await t.engine.store.selectByIds(items, ids)
      expect(all.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort())
      const expr = checkFilter(parseFilter('n >= 2490'), {
        collection: items,
        findCollection: (name) => t.engine.registry.find(name),
        mode: 'filter',
      })
      const values = { now: at, auth: null, body: {}, query: {} }
      const some = await t.engine.store.selectByIds(items, ids, [{ expr: expr!, values }])
      expect(some.map((r) => r.n).sort((a, b) => Number(a) - Number(b))).toEqual([
        2490, 2491, 2492, 2493, 2494, 2495, 2496, 2497, 2498, 2499,
      ])
      const again = await t.engine.store.selectByIds(
        items,
        ['item1', 'item2495'],
        [{ expr: expr!, values }],
      )
      expect(again.map((r) => r.id)).toEqual(['item2495'])
    } finally {
      await t.close()
    }
  })
})

describe.each(await availableDialects())(
  'checked filters after a schema change on %s',
  (dialect) => {
    it('follows a change to a related collection, not only to the listed one', async () => {
      const t = await createTestEngine(dialect)
      try {
        await createCollection(t, { name: 'users', type: 'auth', fields: [] })
        await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
        const signIn = await t.call({
          method: 'POST',
          url: '/api/collections/users/auth/password',
          payload: { identity: 'ann@example.com', password: PASSWORD },
          anonymous: true,
        })
        const token = (signIn.json() as { token: string }).token
        const writers = await createCollection(t, {
          name: 'writers',
          fields: [{ name: 'secret', type: 'text' }],
          rules: { list: '', view: '' },
        })
        await createCollection(t, {
          name: 'posts',
          fields: [{ name: 'writer', type: 'relation', collection: 'writers' }],
          rules: { list: '', view: '' },
        })
        const writer = await createRecord(t, 'writers', { secret: 'swordfish' })
        await createRecord(t, 'posts', { writer: writer.id })
        const probe = () =>
          t.call({
            method: 'GET',
            url: `/api/collections/posts/records?filter=${encodeURIComponent('writer.secret = "swordfish"')}`,
            headers: { authorization: `Bearer ${token}` },
          })
        expect((await probe()).statusCode).toBe(200)
        // The field becomes hidden: no filter may probe it any more, cached check or not.
        const hidden = await t.call({
          method: 'PATCH',
          url: '/api/collections/writers',
          payload: {
            fields: [
              {
                id: (writers.fields as { id: string }[])[0]?.id,
                name: 'secret',
                type: 'text',
                hidden: true,
              },
            ],
          },
        })
        expect(hidden.statusCode, hidden.body).toBe(200)
        const refused = await probe()
        expect(refused.statusCode, refused.body).toBe(400)
      } finally {
        await t.close()
      }
    })
  },
)
