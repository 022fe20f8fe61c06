/**
 * `expand` is bounded and never silently cut short: a relation holding more than 1,000 records
 * for one record, or a response that would hold more than 5,000 expanded records (counted as
 * written out, nested repeats included), is a 400 naming the expand path — over REST and
 * GraphQL alike — and GraphQL's cost estimate uses those same bounds. Default limits, seeded
 * in bulk through the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Row } from '../../src/adapters/store/store.js'
import { createCollection, expectProblem, type ProblemBody } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { gql } from '../graphql/graphql-fixture.js'

const OPEN = { list: '', view: '', create: null, update: null, delete: null }

describe.each(await availableDialects())('expand limits on %s', (dialect) => {
  let t: TestEngine
  const get = (url: string, anonymous = true) => t.call({ method: 'GET', url, anonymous })

  /** Inserts rows straight through the store, in one multi-row statement per 500. */
  async function seed(name: string, rows: Row[]) {
    const collection = t.engine.registry.get(name)
    const stamp = new Date().toISOString()
    const full = rows.map((row) => ({ created: stamp, updated: stamp, ...row }))
    for (let i = 0; i < full.length; i += 500) {
      await t.engine.store.insertRecords(collection, full.slice(i, i + 500))
    }
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, { graphql: { limits: { maxCost: 6000 } } })
    await createCollection(t, {
      name: 'people',
      fields: [{ name: 'name', type: 'text' }],
      rules: OPEN,
    })
    await createCollection(t, {
      name: 'labels',
      fields: [{ name: 'name', type: 'text' }],
      // Anonymous callers never see the label named "secret".
      rules: { ...OPEN, view: 'name != "secret"' },
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'people' },
        { name: 'tags', type: 'relation', collection: 'labels', maxSelect: 1000 },
      ],
      rules: OPEN,
    })
    await createCollection(t, {
      name: 'comments',
      fields: [
        { name: 'body', type: 'text' },
        { name: 'post', type: 'relation', collection: 'posts' },
      ],
      rules: OPEN,
    })
    await seed('people', [
      { id: 'ann', name: 'Ann' },
      { id: 'bob', name: 'Bob' },
    ])
    const labels: Row[] = Array.from({ length: 6000 }, (_, i) => ({ id: `l${i}`, name: `l${i}` }))
    await seed('labels', [...labels, { id: 'lsecret', name: 'secret' }])
    // big: 1,001 comments; full0-full5: 900 each; ann wrote 100 posts (p0-p99), bob the rest;
    // tagged0-tagged5 have 1,000 labels each, all different (tagged0's last one the secret).
    const tagsOf = (n: number) =>
      Array.from({ length: 1000 }, (_, i) =>
        n === 0 && i === 999 ? 'lsecret' : `l${n * 1000 + i}`,
      )
    await seed('posts', [
      ...Array.from({ length: 100 }, (_, i) => ({ id: `p${i}`, title: `p${i}`, author: 'ann' })),
      { id: 'big', title: 'big', author: 'bob' },
      ...Array.from({ length: 6 }, (_, i) => ({ id: `full${i}`, title: 'full', author: 'bob' })),
      ...Array.from({ length: 6 }, (_, i) => ({
        id: `tagged${i}`,
        title: 'tagged',
        author: 'bob',
        tags: tagsOf(i),
      })),
    ])
    const comments: Row[] = []
    for (let i = 0; i < 1001; i++) comments.push({ id: `cb${i}`, body: `b${i}`, post: 'big' })
    for (let p = 0; p < 6; p++) {
      for (let i = 0; i < 900; i++)
        comments.push({ id: `cf${p}_${i}`, body: 'f', post: `full${p}` })
    }
    await seed('comments', comments)
  }, 120_000)
  afterAll(() => t.close())

  it('refuses a back-relation over 1,000 records for one record, naming path and record', async () => {
    const res = await get('/api/collections/posts/records/big?expand=comments_via_post')
    const problem = expectProblem(res, 400, 'ER_EXPAND_TOO_LARGE')
    expect(problem).toMatchObject({ expand: 'comments_via_post', record: 'big', limit: 1000 })
    expect(problem.errors?.expand?.[0]?.code).toBe('too_large')
    expect(problem.detail).toContain('"comments_via_post"')
    // In a list too, and one level down.
    const listed = await get(
      '/api/collections/posts/records?filter=id="big"&expand=comments_via_post',
    )
    expect(expectProblem(listed, 400, 'ER_EXPAND_TOO_LARGE').expand).toBe('comments_via_post')
    const nested = await get('/api/collections/comments/records/cb0?expand=post.comments_via_post')
    expect(expectProblem(nested, 400, 'ER_EXPAND_TOO_LARGE')).toMatchObject({
      expand: 'post.comments_via_post',
      record: 'big',
    })
  })

  it('answers within the limits whole', async () => {
    const one = await get('/api/collections/posts/records/full0?expand=comments_via_post')
    expect(one.statusCode, one.body).toBe(200)
    expect((one.json().expand.comments_via_post as unknown[]).length).toBe(900)
    // Five posts × 900 comments = 4,500: within the response limit.
    const five = await get(
      '/api/collections/posts/records?filter=title="full"&sort=id&perPage=5&expand=comments_via_post',
    )
    expect(five.statusCode, five.body.slice(0, 300)).toBe(200)
    const counts = (five.json().items as { expand: { comments_via_post: unknown[] } }[]).map(
      (item) => item.expand.comments_via_post.length,
    )
    expect(counts).toEqual([900, 900, 900, 900, 900])
  })

  it('refuses a page whose expansions together pass 5,000 records', async () => {
    const six = await get(
      '/api/collections/posts/records?filter=title="full"&perPage=6&expand=comments_via_post',
    )
    const problem = expectProblem(six, 400, 'ER_EXPAND_TOO_LARGE')
    expect(problem).toMatchObject({ expand: 'comments_via_post', limit: 5000 })
    expect(problem.record).toBeUndefined()
  })

  it('counts a record once per place it is written out (nested repeats)', async () => {
    // 50 of ann's posts, each with ann, each ann with her 100 posts: 50 + 50 × 100 = 5,050.
    const url = (perPage: number) =>
      `/api/collections/posts/records?filter=author="ann"&perPage=${perPage}&expand=author.posts_via_author`
    expect(expectProblem(await get(url(50)), 400, 'ER_EXPAND_TOO_LARGE')).toMatchObject({
      expand: 'author.posts_via_author',
    })
    // 49 + 49 × 100 = 4,949 is within it.
    const ok = await get(url(49))
    expect(ok.statusCode).toBe(200)
    const items = ok.json().items as {
      expand: { author: { expand: { posts_via_author: unknown[] } } }
    }[]
    expect(items.length).toBe(49)
    expect(items.every((i) => i.expand.author.expand.posts_via_author.length === 100)).toBe(true)
  })

  it('bounds multi relations, counting only records the caller may view', async () => {
    const url = (perPage: number) =>
      `/api/collections/posts/records?filter=title="tagged"&sort=id&perPage=${perPage}&expand=tags`
    const one = await get('/api/collections/posts/records/tagged0?expand=tags')
    expect(one.statusCode).toBe(200)
    expect((one.json().expand.tags as unknown[]).length).toBe(999)
    // Five posts × 1,000 labels: exactly the 5,000 a response may hold (the superuser sees
    // the secret label too); six are refused, though the labels are read in bounded chunks.
    const five = await get(url(5), false)
    expect(five.statusCode, five.body.slice(0, 300)).toBe(200)
    const sizes = (five.json().items as { expand: { tags: unknown[] } }[]).map(
      (item) => item.expand.tags.length,
    )
    expect(sizes).toEqual([1000, 1000, 1000, 1000, 1000])
    expect(expectProblem(await get(url(6)), 400, 'ER_EXPAND_TOO_LARGE')).toMatchObject({
      expand: 'tags',
      limit: 5000,
    })
  })

  it('refuses the same over GraphQL, as an error of the field that asked', async () => {
    const result = await gql(
      t,
      '{ postsById(id: "big") { id comments_via_post { id } } }',
      undefined,
      null,
    )
    expect(result.status).toBe(200)
    expect(result.data).toEqual({ postsById: null })
    expect(result.errors?.[0]?.path).toEqual(['postsById'])
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'ER_EXPAND_TOO_LARGE',
      status: 400,
      expand: 'comments_via_post',
      record: 'big',
    })
    const nested = await gql(
      t,
      '{ posts(filter: "author = \'ann\'", perPage: 50) { items { author { posts_via_author { id } } } } }',
      undefined,
      null,
    )
    expect(nested.errors?.[0]?.extensions).toMatchObject({ code: 'ER_EXPAND_TOO_LARGE' })
  })

  it('costs GraphQL relations at the bounds expand enforces', async () => {
    // tags (maxSelect 1,000) under 10 posts is bounded by the 5,000 per response:
    // 1 + 10 + 10 + 5,000 × 1 = 5,021, within 6,000; a second field doubles the last term.
    const within = await gql(t, '{ posts(perPage: 10) { items { tags { id } } } }', undefined, null)
    expect(within.errors).toBeUndefined()
    const over = await gql(
      t,
      '{ posts(perPage: 10) { items { tags { id name } } } }',
      undefined,
      null,
    )
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'ER_GRAPHQL_COST_LIMIT',
      cost: 10_021,
      limit: 6000,
    })
    // A single record's back-relation: 1 + 1 + 1,000 × 2 = 2,002.
    const byId = await gql(
      t,
      '{ peopleById(id: "ann") { posts_via_author { id title } } }',
      undefined,
      null,
    )
    expect(byId.errors).toBeUndefined()
    expect((byId.data?.peopleById as { posts_via_author: [] }).posts_via_author.length).toBe(100)
  })

  it('keeps every refusal a problem, never a 500, under concurrent requests', async () => {
    const urls = [
      '/api/collections/posts/records/big?expand=comments_via_post',
      '/api/collections/posts/records?filter=title="full"&perPage=6&expand=comments_via_post',
      '/api/collections/people/records?expand=posts_via_author.comments_via_post',
    ]
    const answers = await Promise.all(urls.map((url) => get(url)))
    for (const res of answers) {
      expect((res.json() as ProblemBody).code).toBe('ER_EXPAND_TOO_LARGE')
    }
  })
})
