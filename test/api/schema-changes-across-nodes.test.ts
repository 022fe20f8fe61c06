/**
 * Two nodes on one database (finding 15 of issue 11). Node A changes the schema; node B has no
 * bus shared with A and polls once an hour, so only its own recovery can save it: a request
 * for a collection B has not loaded yet rechecks the schema version, and a statement that fails
 * on a definition A has changed (a dropped column or table) reloads the schema and runs again.
 * B answers as if it had the new schema (200, 201, 404, or a 400 naming the field), never a 500,
 * and a retried write applies once and spends the request's password budget once.
 */
import type { InjectOptions } from 'fastify'
import type { Response as InjectResponse } from 'light-my-request'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import type { Bus } from '../../src/adapters/bus/bus.js'
import { createRedisBus } from '../../src/adapters/bus/redis/redis-bus.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSecondNode, type SecondNode } from '../helpers/second-node.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const HOUR = 3_600_000
const REDIS_URL = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

describe.each(await availableDialects())('schema changes across two nodes on %s', (dialect) => {
  let a: TestEngine
  let b: SecondNode
  let bBus: Bus
  let postId: string

  const fieldsOf = async (name: string) => {
    const res = await a.call({ method: 'GET', url: `/api/collections/${name}` })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { fields: { name: string }[] }).fields
  }
  const patchFields = async (name: string, fields: object[]) => {
    const res = await a.call({
      method: 'PATCH',
      url: `/api/collections/${name}`,
      payload: { fields },
    })
    expect(res.statusCode, res.body).toBe(200)
  }
  /**
   * A adds `field` (bool) and `${field}_at` (autodate) to posts, B loads them (as it would by
   * poll), then A drops both: B is stale. Its creates and updates name the autodate's column
   * (to stamp it) whatever the body, so they fail on it and must be retried.
   */
  const dropFieldBehindB = async (field: string) => {
    const fields = await fieldsOf('posts')
    await patchFields('posts', [
      ...fields,
      { name: field, type: 'bool' },
      { name: `${field}_at`, type: 'autodate', onCreate: true, onUpdate: true },
    ])
    await b.engine.registry.reload()
    await patchFields('posts', fields)
    expect(b.engine.registry.get('posts').fields.map((f) => f.name)).toContain(field)
  }
  const graphqlRequest = (query: string): InjectOptions => ({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ query }),
  })
  const expectNoInternalError = (res: InjectResponse) => {
    expect(res.statusCode, res.body).not.toBe(500)
    expect(res.body).not.toContain('ER_INTERNAL')
  }

  beforeAll(async () => {
    a = await createTestEngine(dialect)
    bBus = createInProcessBus()
    b = await openSecondNode(a, { bus: bBus, schemaRecheckMs: HOUR })
    await createCollection(a, {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    postId = (await createRecord(a, 'posts', { title: 'first' })).id as string
  })
  afterAll(async () => {
    await b?.close()
    await bBus?.close()
    await a?.close()
  })

  it('serves a collection created on the other node right after its 201, every time', async () => {
    for (let i = 0; i < 12; i++) {
      await createCollection(a, {
        name: `fresh_${i}`,
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '', create: '' },
      })
      const created = await b.call({
        method: 'POST',
        url: `/api/collections/fresh_${i}/records`,
        payload: { title: `t${i}` },
      })
      expect(created.statusCode, created.body).toBe(201)
      const listed = await b.call({ method: 'GET', url: `/api/collections/fresh_${i}/records` })
      expect(listed.statusCode, listed.body).toBe(200)
      expect((listed.json() as { items: unknown[] }).items).toHaveLength(1)
    }
    // The schema API and sign-in, too.
    await createCollection(a, { name: 'fresh_schema', fields: [{ name: 'title', type: 'text' }] })
    const read = await b.call({ method: 'GET', url: '/api/collections/fresh_schema' })
    expect(read.statusCode, read.body).toBe(200)
    await createCollection(a, { name: 'fresh_patch', fields: [{ name: 'title', type: 'text' }] })
    const patched = await b.call({
      method: 'PATCH',
      url: '/api/collections/fresh_patch',
      payload: {
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
        ],
      },
    })
    expect(patched.statusCode, patched.body).toBe(200)
    await createCollection(a, { name: 'fresh_users', type: 'auth', rules: { create: '' } })
    await createRecord(a, 'fresh_users', { email: 'new@example.com', password: 'long enough pw' })
    const signedIn = await b.call({
      method: 'POST',
      url: '/api/collections/fresh_users/auth/password',
      anonymous: true,
      payload: { identity: 'new@example.com', password: 'long enough pw' },
    })
    expect(signedIn.statusCode, signedIn.body).toBe(200)
    // Still a 404, and no reload, for a name that exists nowhere.
    expectProblem(
      await b.call({ method: 'GET', url: '/api/collections/never_made/records' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })

  const records = '/api/collections/posts/records'
  const withQuery = (query: Record<string, string>) => `${records}?${new URLSearchParams(query)}`
  const graphqlCode = (res: InjectResponse) =>
    (res.json() as { errors?: { extensions: { code: string } }[] }).errors?.[0]?.extensions.code
  /**
   * Each row runs on a B that still has the dropped field `gone`. Rows that name it reach the
   * database with a column that no longer exists: B reloads, retries, and answers as the
   * schema is now (a 400 naming the field). Rows that do not name it never touch the column.
   */
  const rows: [string, (gone: string) => InjectOptions, (res: InjectResponse) => void, boolean][] =
    [
      [
        'list',
        () => ({ method: 'GET', url: records }),
        (res) => expect(res.statusCode).toBe(200),
        false,
      ],
      [
        'view',
        () => ({ method: 'GET', url: `${records}/${postId}` }),
        (res) => expect(res.statusCode).toBe(200),
        false,
      ],
      [
        'filter on a kept field',
        () => ({ method: 'GET', url: withQuery({ filter: 'title != ""', count: 'true' }) }),
        (res) => expect(res.statusCode).toBe(200),
        false,
      ],
      [
        'create',
        () => ({ method: 'POST', url: records, payload: { title: 'c' } }),
        (res) => expect(res.statusCode).toBe(201),
        true,
      ],
      [
        'update',
        () => ({ method: 'PATCH', url: `${records}/${postId}`, payload: { title: 'u' } }),
        (res) => expect(res.statusCode).toBe(200),
        true,
      ],
      [
        'filter on the dropped field',
        (gone) => ({ method: 'GET', url: withQuery({ filter: `${gone} = true` }) }),
        (res) => expectProblem(res, 400, 'ER_FILTER_UNKNOWN_FIELD'),
        true,
      ],
      [
        'sort on the dropped field',
        (gone) => ({ method: 'GET', url: withQuery({ sort: `-${gone}` }) }),
        (res) => expect(res.statusCode).toBe(400),
        true,
      ],
      [
        'create with the dropped field',
        (gone) => ({ method: 'POST', url: records, payload: { title: 'c', [gone]: true } }),
        (res) => expectProblem(res, 400, 'ER_VALIDATION_FAILED'),
        true,
      ],
      [
        'update of the dropped field',
        (gone) => ({ method: 'PATCH', url: `${records}/${postId}`, payload: { [gone]: true } }),
        (res) => expectProblem(res, 400, 'ER_VALIDATION_FAILED'),
        true,
      ],
      [
        'batch',
        () => ({
          method: 'POST',
          url: '/api/batch',
          payload: {
            requests: [
              { method: 'POST', url: records, body: { title: 'b1' } },
              { method: 'PATCH', url: `${records}/${postId}`, body: { title: 'b2' } },
            ],
          },
        }),
        (res) => expect(res.statusCode).toBe(200),
        true,
      ],
      [
        'batch naming the dropped field',
        (gone) => ({
          method: 'POST',
          url: '/api/batch',
          payload: {
            requests: [
              { method: 'POST', url: records, body: { title: 'b1' } },
              { method: 'PATCH', url: `${records}/${postId}`, body: { title: 'b2', [gone]: true } },
            ],
          },
        }),
        (res) =>
          expect(res.json()).toMatchObject({ status: 400, code: 'ER_VALIDATION_FAILED', index: 1 }),
        true,
      ],
      [
        'GraphQL list',
        () => graphqlRequest('{ posts { items { id title } } }'),
        (res) => {
          expect(res.statusCode).toBe(200)
          expect(graphqlCode(res)).toBeUndefined()
        },
        false,
      ],
      [
        'GraphQL create',
        () => graphqlRequest('mutation { createPosts(input: { title: "g" }) { id title } }'),
        (res) => expect(graphqlCode(res)).toBeUndefined(),
        true,
      ],
      [
        'GraphQL list filtered on the dropped field',
        (gone) => graphqlRequest(`{ posts(filter: "${gone} = true") { items { id } } }`),
        (res) => expect(graphqlCode(res)).toBe('ER_FILTER_UNKNOWN_FIELD'),
        true,
      ],
      [
        'GraphQL create with the dropped field',
        (gone) =>
          graphqlRequest(`mutation { createPosts(input: { title: "g", ${gone}: true }) { id } }`),
        (res) => expect(graphqlCode(res)).toBe('ER_VALIDATION_FAILED'),
        true,
      ],
    ]

  it.each(rows)(
    'answers %s after a field was dropped on the other node',
    async (_, request, check, touchesColumn) => {
      const gone = `gone_${Math.random().toString(36).slice(2, 8)}`
      await dropFieldBehindB(gone)
      const res = await b.call(request(gone))
      expectNoInternalError(res)
      check(res)
      const names = b.engine.registry.get('posts').fields.map((f) => f.name)
      expect(names.includes(gone)).toBe(!touchesColumn)
    },
  )

  it('answers GraphQL on a collection or field created on the other node right after its 201', async () => {
    for (let i = 0; i < 4; i++) {
      await createCollection(a, {
        name: `gqlfresh${i}`,
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '', create: '' },
      })
      await createRecord(a, `gqlfresh${i}`, { title: `g${i}` })
      const res = await b.call(graphqlRequest(`{ gqlfresh${i} { items { title } } }`))
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toEqual({ data: { [`gqlfresh${i}`]: { items: [{ title: `g${i}` }] } } })
    }
    // A field added to a collection B has loaded: B's cached GraphQL schema lacks it.
    const fields = await fieldsOf('gqlfresh0')
    await patchFields('gqlfresh0', [...fields, { name: 'rank', type: 'number' }])
    const ranked = await b.call(graphqlRequest('{ gqlfresh0 { items { title rank } } }'))
    expect(ranked.statusCode, ranked.body).toBe(200)
    // A name that exists nowhere is still refused, after one look at the schema version.
    const unknown = await b.call(graphqlRequest('{ gqlnowhere { items { id } } }'))
    expect(unknown.json()).toMatchObject({
      errors: [{ message: expect.stringContaining('Cannot query field "gqlnowhere"') }],
    })
    expect(unknown.json()).not.toHaveProperty('data')
  })

  it('accepts a field added on the other node in a body and a filter', async () => {
    const fields = await fieldsOf('posts')
    await patchFields('posts', [...fields, { name: 'added', type: 'text' }])
    expect(b.engine.registry.get('posts').fields.map((f) => f.name)).not.toContain('added')
    const created = await b.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'with added', added: 'yes' },
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ added: 'yes' })
    const listed = await b.call({
      method: 'GET',
      url: `/api/collections/posts/records?filter=${encodeURIComponent('added = "yes"')}`,
    })
    expect(listed.statusCode, listed.body).toBe(200)
    expect((listed.json() as { items: unknown[] }).items).toHaveLength(1)
    await patchFields('posts', fields)
  })

  it('applies a retried write once', async () => {
    const countTitled = async (title: string) => {
      const res = await a.call({
        method: 'GET',
        url: withQuery({ filter: `title = "${title}"`, count: 'true' }),
      })
      return (res.json() as { totalItems: number }).totalItems
    }
    await dropFieldBehindB('gone_once')
    const res = await b.call({ method: 'POST', url: records, payload: { title: 'exactly once' } })
    expect(res.statusCode, res.body).toBe(201)
    expect(await countTitled('exactly once')).toBe(1)
    // A batch whose first write went through before the second failed on the stale column.
    await dropFieldBehindB('gone_twice')
    const batch = await b.call({
      method: 'POST',
      url: '/api/batch',
      payload: {
        requests: [
          { method: 'POST', url: records, body: { title: 'batched once' } },
          { method: 'PATCH', url: `${records}/${postId}`, body: { title: 'patched' } },
        ],
      },
    })
    expect(batch.statusCode, batch.body).toBe(200)
    expect(await countTitled('batched once')).toBe(1)
    expect(b.engine.registry.get('posts').fields.map((f) => f.name)).toEqual(['title'])
  })

  it('answers 404 (REST) and no internal error (GraphQL) for a collection dropped on the other node', async () => {
    const dropBehindB = async (name: string) => {
      await createCollection(a, {
        name,
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '', create: '', update: '', delete: '' },
      })
      const id = (await createRecord(a, name, { title: 'doomed' })).id as string
      await b.engine.registry.reload()
      const res = await a.call({ method: 'DELETE', url: `/api/collections/${name}` })
      expect(res.statusCode, res.body).toBe(204)
      expect(b.engine.registry.find(name)).toBeDefined()
      return id
    }
    const requests: [string, (name: string, id: string) => InjectOptions][] = [
      ['list', (name) => ({ method: 'GET', url: `/api/collections/${name}/records` })],
      ['view', (name, id) => ({ method: 'GET', url: `/api/collections/${name}/records/${id}` })],
      [
        'create',
        (name) => ({
          method: 'POST',
          url: `/api/collections/${name}/records`,
          payload: { title: 'n' },
        }),
      ],
      [
        'update',
        (name, id) => ({
          method: 'PATCH',
          url: `/api/collections/${name}/records/${id}`,
          payload: { title: 'n' },
        }),
      ],
      [
        'delete',
        (name, id) => ({ method: 'DELETE', url: `/api/collections/${name}/records/${id}` }),
      ],
    ]
    for (const [i, [, request]] of requests.entries()) {
      const name = `doomed_${i}`
      const id = await dropBehindB(name)
      expectProblem(await b.call(request(name, id)), 404, 'ER_COLLECTION_NOT_FOUND')
    }
    await dropBehindB('doomed_gql')
    const res = await b.call(graphqlRequest('{ doomed_gql { items { id title } } }'))
    expectNoInternalError(res)
  })

  it('spends the password budget once when a batch of sign-ups is retried', async () => {
    await createCollection(a, {
      name: 'members',
      type: 'auth',
      fields: [{ name: 'note', type: 'text' }],
      rules: { create: '' },
    })
    const fields = await fieldsOf('members')
    await patchFields('members', [...fields, { name: 'gone_at', type: 'autodate', onCreate: true }])
    await b.engine.registry.reload()
    await patchFields('members', fields)
    const signUps = (n: number, tag: string) =>
      b.call({
        method: 'POST',
        url: '/api/batch',
        anonymous: true,
        payload: {
          requests: Array.from({ length: n }, (_, i) => ({
            method: 'POST',
            url: '/api/collections/members/records',
            body: { email: `${tag}${i}@example.com`, password: 'a long enough password' },
          })),
        },
      })
    // Five is the budget: the failed attempt spent it, the retry must find it whole again.
    const res = await signUps(5, 'ok')
    expect(res.statusCode, res.body).toBe(200)
    expect(b.engine.registry.get('members').fields.map((f) => f.name)).toEqual(['note'])
    const count = await a.call({
      method: 'GET',
      url: '/api/collections/members/records?count=true',
    })
    expect((count.json() as { totalItems: number }).totalItems).toBe(5)
    // …and no larger for the retry.
    const six = await signUps(6, 'six')
    expect(six.statusCode, six.body).toBe(400)
    expect(six.body).toContain('request_limit')
  })
})

/**
 * With a bus between them (Redis under the deployment's prefix on PostgreSQL, the in-process bus
 * standing for cluster IPC on SQLite), B reloads when A announces a change, without a request
 * and with its poll an hour away.
 */
describe.each(await availableDialects())('schema changes announced on the bus on %s', (dialect) => {
  let a: TestEngine
  let b: SecondNode
  const buses: Bus[] = []

  beforeAll(async () => {
    const suffix = Math.random().toString(36).slice(2, 10)
    let openBus: () => Promise<Bus>
    if (dialect === 'postgres') {
      openBus = async () => createRedisBus({ url: REDIS_URL, prefix: `er-test-${suffix}:` })
    } else {
      const shared = createInProcessBus()
      openBus = async () => shared
    }
    const busA = await openBus()
    const busB = dialect === 'postgres' ? await openBus() : busA
    buses.push(busA, ...(busB === busA ? [] : [busB]))
    a = await createTestEngine(dialect, { bus: busA, engine: { schemaRecheckMs: HOUR } })
    b = await openSecondNode(a, { bus: busB, schemaRecheckMs: HOUR })
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
    for (const bus of buses.slice(1)) await bus.close()
  })

  it('serves a collection created on the other node right after its 201, every time', async () => {
    // The announcement races the request to B: either may arrive first, and B's reloads
    // (announced, and rechecked for the request) overlap with A's next change.
    for (let i = 0; i < 20; i++) {
      await createCollection(a, { name: `raced_${i}`, fields: [{ name: 'title', type: 'text' }] })
      const created = await b.call({
        method: 'POST',
        url: `/api/collections/raced_${i}/records`,
        payload: { title: 'x' },
      })
      expect(created.statusCode, created.body).toBe(201)
    }
  })

  it('reloads the other node as soon as a collection is created, changed or dropped', async () => {
    const names = () => [...b.engine.registry.catalogue.keys()]
    await createCollection(a, { name: 'announced', fields: [{ name: 'title', type: 'text' }] })
    await vi.waitFor(() => expect(names()).toContain('announced'), { timeout: 5000, interval: 5 })
    const patched = await a.call({
      method: 'PATCH',
      url: '/api/collections/announced',
      payload: {
        fields: [
          { name: 'title', type: 'text' },
          { name: 'more', type: 'number' },
        ],
      },
    })
    expect(patched.statusCode, patched.body).toBe(200)
    await vi.waitFor(
      () =>
        expect(b.engine.registry.get('announced').fields.map((f) => f.name)).toEqual([
          'title',
          'more',
        ]),
      { timeout: 5000, interval: 5 },
    )
    expect((await a.call({ method: 'DELETE', url: '/api/collections/announced' })).statusCode).toBe(
      204,
    )
    await vi.waitFor(() => expect(names()).not.toContain('announced'), {
      timeout: 5000,
      interval: 5,
    })
  })
})
