import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCollection,
  createRecord,
  expectProblem,
  listRecords,
} from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

type Rec = Record<string, unknown> & { expand?: Record<string, unknown> }

describe.each(dialects)('expand and fields on %s', (dialect) => {
  let t: TestEngine
  const get = async (url: string) => {
    const res = await t.call({ method: 'GET', url })
    expect(res.statusCode, res.body).toBe(200)
    return res.json()
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'orgs', fields: [{ name: 'name', type: 'text' }] })
    await createCollection(t, {
      name: 'teams',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'org', type: 'relation', collection: 'orgs' },
      ],
    })
    await createCollection(t, {
      name: 'users',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'team', type: 'relation', collection: 'teams' },
        { name: 'secret', type: 'text', hidden: true },
      ],
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'users' },
        { name: 'editors', type: 'relation', collection: 'users', maxSelect: 5 },
      ],
    })
    await createCollection(t, {
      name: 'comments',
      fields: [
        { name: 'body', type: 'text' },
        { name: 'post', type: 'relation', collection: 'posts' },
        { name: 'author', type: 'relation', collection: 'users' },
      ],
    })
    await createRecord(t, 'orgs', { id: 'o1', name: 'Acme' })
    await createRecord(t, 'teams', { id: 't1', name: 'Core', org: 'o1' })
    await createRecord(t, 'teams', { id: 't2', name: 'Edge' })
    await createRecord(t, 'users', { id: 'u1', name: 'Ann', team: 't1', secret: 's' })
    await createRecord(t, 'users', { id: 'u2', name: 'Bob', team: 't2' })
    await createRecord(t, 'users', { id: 'u3', name: 'Cy' })
    for (let i = 0; i < 10; i++) {
      await createRecord(t, 'posts', {
        id: `p${i}`,
        title: `Post ${i}`,
        author: i === 9 ? null : ['u1', 'u2', 'u3'][i % 3],
        editors: i % 2 ? ['u3', 'u1'] : [],
      })
    }
    await createRecord(t, 'comments', { id: 'c1', body: 'first', post: 'p0', author: 'u2' })
    await createRecord(t, 'comments', { id: 'c2', body: 'second', post: 'p0', author: 'u3' })
    await createRecord(t, 'comments', { id: 'c3', body: 'third', post: 'p1', author: 'u1' })
  })
  afterAll(async () => {
    await t.close()
  })

  it('expands a single relation', async () => {
    const post = (await get('/api/collections/posts/records/p0?expand=author')) as Rec
    expect(post.author).toBe('u1')
    expect(post.expand?.author).toMatchObject({ id: 'u1', name: 'Ann', team: 't1' })
    // The superuser sees hidden fields of expanded records too; nothing else is added.
    expect(Object.keys(post.expand ?? {})).toEqual(['author'])
  })

  it('expands a multi relation in the stored order and leaves empty relations empty', async () => {
    const { items } = await listRecords(t, 'posts', { expand: 'editors,author', sort: 'id' })
    const p1 = items.find((p) => p.id === 'p1') as Rec
    expect((p1.expand?.editors as Rec[]).map((u) => u.name)).toEqual(['Cy', 'Ann'])
    const p0 = items.find((p) => p.id === 'p0') as Rec
    expect(p0.expand?.editors).toEqual([])
    const p9 = items.find((p) => p.id === 'p9') as Rec
    expect(p9.expand?.author).toBeUndefined()
  })

  it('expands three levels: author.team.org', async () => {
    const post = (await get('/api/collections/posts/records/p0?expand=author.team.org')) as Rec
    const author = post.expand?.author as Rec
    const team = author.expand?.team as Rec
    expect(team).toMatchObject({ id: 't1', name: 'Core' })
    expect(team.expand?.org).toMatchObject({ id: 'o1', name: 'Acme' })
    // A relation that is empty one level down stops there.
    const p1 = (await get('/api/collections/posts/records/p1?expand=author.team.org')) as Rec
    const bob = p1.expand?.author as Rec
    expect((bob.expand?.team as Rec).expand).toBeUndefined()
  })

  it('expands a back-relation, and relations below it', async () => {
    const { items } = await listRecords(t, 'posts', {
      expand: 'comments_via_post.author',
      sort: 'id',
      perPage: '3',
    })
    const [p0, p1, p2] = items as Rec[]
    expect((p0?.expand?.comments_via_post as Rec[]).map((c) => c.id)).toEqual(['c1', 'c2'])
    expect(
      (p0?.expand?.comments_via_post as Rec[]).map((c) => (c.expand?.author as Rec).name),
    ).toEqual(['Bob', 'Cy'])
    expect((p1?.expand?.comments_via_post as Rec[]).map((c) => c.id)).toEqual(['c3'])
    expect(p2?.expand?.comments_via_post).toEqual([])
  })

  it.each([
    ['author.team.org.name', 'deeper than 3'],
    ['comments_via_post.author.team.org', 'deeper than 3'],
    ['nope', 'nope'],
    ['title', 'title'],
    ['author.nope', 'nope'],
    ['comments_via_nope', 'comments_via_nope'],
    ['users_via_team', 'users_via_team'],
    ['author..team', ''],
  ])('refuses expand=%s with 400', async (expand, mention) => {
    for (const url of [
      `/api/collections/posts/records?expand=${expand}`,
      `/api/collections/posts/records/p0?expand=${expand}`,
    ]) {
      const problem = expectProblem(await t.call({ method: 'GET', url }), 400, 'ER_QUERY_INVALID')
      expect(problem.errors).toHaveProperty('expand')
      expect(problem.detail).toContain(mention)
    }
  })

  it('projects fields, including inside expand', async () => {
    const { items } = await listRecords(t, 'posts', {
      fields: 'id,title',
      sort: 'id',
      perPage: '2',
    })
    expect(items).toEqual([
      { id: 'p0', title: 'Post 0' },
      { id: 'p1', title: 'Post 1' },
    ])
    const post = (await get(
      '/api/collections/posts/records/p0?expand=author.team&fields=title,expand.author.name',
    )) as Rec
    expect(post).toEqual({ title: 'Post 0', expand: { author: { name: 'Ann' } } })
    const deep = (await get(
      '/api/collections/posts/records/p0?expand=author.team&fields=id,expand.author.expand.team.name',
    )) as Rec
    expect(deep).toEqual({ id: 'p0', expand: { author: { expand: { team: { name: 'Core' } } } } })
    const whole = (await get(
      '/api/collections/posts/records/p0?expand=author&fields=id,expand.author',
    )) as Rec
    expect(whole.expand?.author).toMatchObject({
      id: 'u1',
      name: 'Ann',
      team: 't1',
      created: expect.any(String),
    })
    const star = (await get('/api/collections/posts/records/p0?fields=*')) as Rec
    expect(Object.keys(star).sort()).toEqual([
      'author',
      'created',
      'editors',
      'id',
      'title',
      'updated',
    ])
  })

  it.each([
    ['nope', 'nope'],
    ['expand.author.name', 'author'],
    ['title.x', 'title.x'],
    ['id,password', 'password'],
  ])('refuses fields=%s with 400 naming it', async (fields, mention) => {
    const problem = expectProblem(
      await t.call({ method: 'GET', url: `/api/collections/posts/records?fields=${fields}` }),
      400,
      'ER_QUERY_INVALID',
    )
    expect(problem.errors).toHaveProperty('fields')
    expect(problem.detail).toContain(mention)
  })

  it('batches expansion: one query per relation per level, whatever the page size', async () => {
    const store = t.engine.store as unknown as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >
    const calls: string[] = []
    const originals = new Map<string, (...args: unknown[]) => Promise<unknown>>()
    for (const method of ['selectByIds', 'selectReferencing']) {
      const original = store[method] as (...args: unknown[]) => Promise<unknown>
      originals.set(method, original)
      store[method] = function (this: unknown, collection: unknown, ...rest: unknown[]) {
        const name = (collection as { name: string }).name
        // The token check reads the caller from _superusers; only expansion queries count here.
        if (name !== '_superusers') calls.push(`${method}:${name}`)
        return original.call(t.engine.store, collection, ...rest)
      }
    }
    try {
      const { items } = await listRecords(t, 'posts', {
        expand: 'author.team.org,editors,comments_via_post.author',
        perPage: '10',
      })
      expect(items).toHaveLength(10)
      expect(calls.sort()).toEqual(
        [
          'selectByIds:users', // author
          'selectByIds:teams', // author.team
          'selectByIds:orgs', // author.team.org
          'selectByIds:users', // editors
          'selectReferencing:comments', // comments_via_post
          'selectByIds:users', // comments_via_post.author
        ].sort(),
      )
    } finally {
      for (const [method, original] of originals) store[method] = original
    }
  })
})
