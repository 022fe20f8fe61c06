/**
 * The response cache, as a stranger and an attacker would meet it, on both dialects: a cached
 * answer never reaches a caller of another scope (another user, another auth collection, an
 * API key, anonymous), every kind of write invalidates (records service, a relation's target,
 * a write by another engine through Redis), validators give 304s, and Cache-Control never lets
 * a shared cache keep a private answer.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryCache } from '../../src/adapters/cache/memory/memory-cache.js'
import { createRedisCache } from '../../src/adapters/cache/redis/redis-cache.js'
import type { ResponseCache } from '../../src/adapters/cache/cache.js'
import { createRedisBus } from '../../src/adapters/bus/redis/redis-bus.js'
import { openRedis } from '../../src/adapters/redis/redis-client.js'
import { createMetrics, type Metrics } from '../../src/http/ops/metrics.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine } from '../../src/services/create-engine.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const REDIS_URL = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const LIMITS = { maxBytes: 8 * 1024 * 1024, ttlMs: 60_000 }

async function outcomes(metrics: Metrics) {
  const metric = await metrics.registry.getSingleMetric('er_response_cache_requests_total')?.get()
  const count = (outcome: string) =>
    metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0
  return { hit: count('hit'), miss: count('miss'), bypass: count('bypass') }
}

describe.each(dialects)('response cache on %s', (dialect) => {
  let t: TestEngine
  let metrics: Metrics
  const tokens = new Map<string, string>()
  const get = (url: string, who: string | null, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'GET',
      url,
      headers: { ...(who ? { authorization: `Bearer ${tokens.get(who)}` } : {}), ...headers },
    })

  beforeAll(async () => {
    metrics = createMetrics()
    t = await createTestEngine(dialect, {
      metrics,
      responseCache: await createMemoryCache(LIMITS),
    })
    tokens.set('root', t.token)
    const owner = 'id = @request.auth.id'
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: { list: owner, view: owner, create: '', update: owner, delete: owner },
    })
    await createCollection(t, {
      name: 'staff',
      type: 'auth',
      fields: [],
      rules: { list: null, view: null, create: null, update: null, delete: null },
    })
    const noteOwner = 'owner = @request.auth.id || owner = ""'
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'text' },
      ],
      rules: { list: noteOwner, view: noteOwner, create: '', update: '', delete: '' },
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'users' },
      ],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    // Alice in two auth collections: the scope names the collection and the record.
    for (const [collection, who] of [
      ['users', 'alice'],
      ['users', 'bob'],
      ['staff', 'alice'],
    ] as const) {
      const id = `${collection === 'staff' ? 's' : ''}${who}`.padEnd(15, 'x')
      const email = `${who}@${collection}.example.com`
      const res = await t.call({
        method: 'POST',
        url: `/api/collections/${collection}/records`,
        payload: {
          id,
          email,
          password: 'a long password',
          ...(collection === 'users' ? { name: who } : {}),
        },
      })
      expect(res.statusCode, res.body).toBe(201)
      const login = await t.app.inject({
        method: 'POST',
        url: `/api/collections/${collection}/auth/password`,
        payload: { identity: email, password: 'a long password' },
      })
      expect(login.statusCode, login.body).toBe(200)
      tokens.set(`${collection}:${who}`, (login.json() as { token: string }).token)
    }
    for (const owner of ['alicexxxxxxxxxx', 'bobxxxxxxxxxxxx', '']) {
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/notes/records',
        payload: { title: `note of ${owner || 'nobody'}`, owner },
      })
      expect(res.statusCode, res.body).toBe(201)
    }
  })
  afterAll(() => t?.close())

  const titles = (body: string) =>
    (JSON.parse(body) as { items: { title: string }[] }).items.map((r) => r.title).sort()

  it('a caller of another scope never gets the first caller’s cached answer', async () => {
    const url = '/api/collections/notes/records?sort=title'
    const before = await outcomes(metrics)
    const alice = await get(url, 'users:alice')
    expect(titles(alice.body)).toEqual(['note of alicexxxxxxxxxx', 'note of nobody'])
    const aliceAgain = await get(url, 'users:alice')
    expect(aliceAgain.body).toBe(alice.body)
    const after = await outcomes(metrics)
    expect(after.hit - before.hit).toBe(1)
    // Same URL, other callers: each their own answer, none of Alice's note.
    const scopes = ['users:bob', 'staff:alice', null, 'root'] as const
    const seen = await Promise.all(scopes.map((who) => get(url, who)))
    expect(titles(seen[0]?.body ?? '')).toEqual(['note of bobxxxxxxxxxxxx', 'note of nobody'])
    // Alice of `staff` is another caller than Alice of `users`.
    expect(titles(seen[1]?.body ?? '')).toEqual(['note of nobody'])
    expect(titles(seen[2]?.body ?? '')).toEqual(['note of nobody'])
    expect(titles(seen[3]?.body ?? '')).toHaveLength(3)
    // … and asked again, each still gets their own (now from the cache).
    for (const [i, who] of scopes.entries()) {
      expect((await get(url, who)).body).toBe(seen[i]?.body)
    }
    expect((await outcomes(metrics)).hit - after.hit).toBe(4)
  })

  it('an API key with a narrower scope is not served the owner’s cached answer', async () => {
    const url = '/api/collections/posts/records'
    expect((await get(url, 'root')).statusCode).toBe(200)
    const created = await t.call({
      method: 'POST',
      url: '/api/collections/_superusers/auth/api-keys',
      payload: { name: 'reader', scopes: [{ collection: 'notes', operations: ['list'] }] },
    })
    expect(created.statusCode, created.body).toBe(201)
    const key = (created.json() as { key: string }).key
    // Root's answer for this URL is cached; the key's scope has no posts.
    expect((await get(url, 'root')).statusCode).toBe(200)
    const res = await t.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${key}` },
    })
    expect(res.statusCode).toBe(403)
    const notes = await t.app.inject({
      method: 'GET',
      url: '/api/collections/notes/records',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(notes.statusCode).toBe(200)
  })

  it('writes invalidate: create, update, delete, and a related collection', async () => {
    const list = '/api/collections/posts/records?expand=author&sort=title'
    const first = await get(list, null)
    expect(first.statusCode).toBe(200)
    const created = await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'by alice', author: 'alicexxxxxxxxxx' },
    })
    expect(created.statusCode).toBe(201)
    const id = (created.json() as { id: string }).id
    const afterCreate = await get(list, null)
    expect(afterCreate.body).toContain('by alice')
    const view = `/api/collections/posts/records/${id}?expand=author`
    expect((await get(view, 'root')).json()).toMatchObject({
      expand: { author: { name: 'alice' } },
    })
    // A write to users (the relation's target) must change the expanded answer.
    const renamed = await t.call({
      method: 'PATCH',
      url: '/api/collections/users/records/alicexxxxxxxxxx',
      payload: { name: 'alice renamed' },
    })
    expect(renamed.statusCode).toBe(200)
    expect((await get(view, 'root')).json()).toMatchObject({
      expand: { author: { name: 'alice renamed' } },
    })
    await t.call({
      method: 'PATCH',
      url: `/api/collections/posts/records/${id}`,
      payload: { title: 'edited' },
    })
    expect((await get(list, null)).body).toContain('edited')
    await t.call({ method: 'DELETE', url: `/api/collections/posts/records/${id}` })
    expect((await get(view, 'root')).statusCode).toBe(404)
    expect((await get(list, null)).body).not.toContain('edited')
  })

  it('ETag and If-None-Match: 304 until a write, on records and lists', async () => {
    const created = await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'etag me' },
    })
    const id = (created.json() as { id: string }).id
    for (const url of ['/api/collections/posts/records', `/api/collections/posts/records/${id}`]) {
      const first = await get(url, null)
      const etag = String(first.headers.etag)
      expect(etag).toMatch(/^"[\w-]{27}"$/)
      const again = await get(url, null, { 'if-none-match': etag })
      expect(again.statusCode).toBe(304)
      expect(again.body).toBe('')
      expect(again.headers.etag).toBe(etag)
      expect((await get(url, null, { 'if-none-match': `"other", W/${etag}` })).statusCode).toBe(304)
      expect((await get(url, null, { 'if-none-match': '"other"' })).statusCode).toBe(200)
    }
    // Anonymous and Alice see different notes: Anonymous's validator is not Alice's answer.
    const notes = '/api/collections/notes/records'
    const anonymousTag = String((await get(notes, null)).headers.etag)
    const alice = await get(notes, 'users:alice', { 'if-none-match': anonymousTag })
    expect(alice.statusCode).toBe(200)
    expect(alice.headers.etag).not.toBe(anonymousTag)
    const etag = String((await get(`/api/collections/posts/records/${id}`, null)).headers.etag)
    await t.call({
      method: 'PATCH',
      url: `/api/collections/posts/records/${id}`,
      payload: { title: 'changed' },
    })
    const after = await get(`/api/collections/posts/records/${id}`, null, { 'if-none-match': etag })
    expect(after.statusCode).toBe(200)
    expect(after.headers.etag).not.toBe(etag)
  })

  it('Cache-Control: public only for anonymous callers of a public rule', async () => {
    const publicList = await get('/api/collections/posts/records', null)
    expect(publicList.headers['cache-control']).toBe('public, no-cache')
    expect(publicList.headers.vary).toBe('Authorization, Cookie')
    for (const res of [
      await get('/api/collections/posts/records', 'users:alice'),
      await get('/api/collections/posts/records', 'root'),
      // Anonymous, but the rule is not public.
      await get('/api/collections/notes/records', null),
      await get('/api/collections/notes/records', 'users:bob'),
    ]) {
      expect(res.statusCode).toBe(200)
      expect(res.headers['cache-control']).toBe('private, no-cache')
      expect(res.headers['cache-control']).not.toMatch(/public|s-maxage/)
    }
  })

  it('errors are never cached: a 404 turns into the record once it exists', async () => {
    const url = '/api/collections/posts/records/later0000000000'
    expect((await get(url, null)).statusCode).toBe(404)
    await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { id: 'later0000000000', title: 'later' },
    })
    expect((await get(url, null)).statusCode).toBe(200)
  })
})

describe.each(dialects)('response cache in Redis across two engines on %s', (dialect) => {
  let t: TestEngine
  const closers: (() => Promise<unknown>)[] = []
  let other: Awaited<ReturnType<typeof buildServer>>
  const metricsA = createMetrics()
  const metricsB = createMetrics()
  const prefix = `er-test-${randomBytes(6).toString('hex')}:`

  const redisCache = async (): Promise<ResponseCache> => {
    const redis = openRedis(REDIS_URL)
    const bus = await createRedisBus({ url: REDIS_URL, prefix })
    const cache = await createRedisCache({ ...LIMITS, redis, bus, prefix: `${prefix}cache:` })
    closers.push(async () => {
      await cache.close()
      await bus.close()
      redis.disconnect()
    })
    return cache
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, { metrics: metricsA, responseCache: await redisCache() })
    const store = await t.openAnotherStore()
    const engine = await createEngine({
      store,
      migrationsDir: `${t.dir}/migrations-b`,
      passwords: testPasswords,
      schemaRecheckMs: 0,
    })
    other = await buildServer(engine, { metrics: metricsB, responseCache: await redisCache() })
    closers.unshift(async () => {
      await other.close()
      await engine.close()
    })
    await createCollection(t, {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
  })
  afterAll(async () => {
    for (const close of closers) await close()
    await t?.close()
  })

  /** Versions not yet read from Redis make the first reads bypass: retried, bounded. */
  async function readUntil(app: typeof other, url: string, done: (body: string) => boolean) {
    for (let i = 0; i < 40; i++) {
      const res = await app.inject({ method: 'GET', url })
      if (done(res.body)) return res.body
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${url} never showed what was expected`)
  }

  /** Reads until the engine counts a hit (its versions may first need a read from Redis). */
  async function readUntilHit(app: typeof other, metrics: Metrics, url: string) {
    const before = (await outcomes(metrics)).hit
    for (let i = 0; i < 40; i++) {
      const res = await app.inject({ method: 'GET', url })
      if ((await outcomes(metrics)).hit > before) return res.body
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`${url} was never served from the cache`)
  }

  it('one engine’s answer is reused by the other; a write on either invalidates both', async () => {
    const url = '/api/collections/posts/records?sort=title'
    await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'one' },
    })
    // A fills the cache and is served from it …
    expect(await readUntilHit(t.app, metricsA, url)).toContain('one')
    const computedByB = (await outcomes(metricsB)).miss
    // … and B, which never computed it, is served A's answer.
    expect(await readUntilHit(other, metricsB, url)).toContain('one')
    expect((await outcomes(metricsB)).miss).toBe(computedByB)
    // A write through B: A stops serving its cached list as soon as B's version reaches it.
    const created = await other.inject({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'two, through b' },
    })
    expect(created.statusCode).toBe(201)
    // B itself never serves the old answer after its own write.
    expect((await other.inject({ method: 'GET', url })).body).toContain('two, through b')
    expect(await readUntil(t.app, url, (body) => body.includes('two, through b'))).toContain('one')
    // And through A: B sees it.
    await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'three, through a' },
    })
    expect((await t.app.inject({ method: 'GET', url })).body).toContain('three, through a')
    await readUntil(other, url, (body) => body.includes('three, through a'))
  })
})
