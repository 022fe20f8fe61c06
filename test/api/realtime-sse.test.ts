/**
 * `GET /api/realtime` over a real socket on both dialects: who receives what, filters, topics of
 * one record, resuming with Last-Event-ID, reset outside retention, tickets, back-pressure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

const data = (e: SseEvent) =>
  JSON.parse(e.data) as { collection: string; action: string; record: Record<string, unknown> }
const changes = (events: SseEvent[]) => events.filter((e) => e.event !== 'reset')

describe.each(dialects)('realtime change feeds on %s', (dialect) => {
  let t: TestEngine
  let base: string
  let userToken: string
  const clients: SseClient[] = []
  const subscribe = async (query: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${base}/api/realtime?${query}`, {
      authorization: `Bearer ${t.token}`,
      ...headers,
    })
    clients.push(client)
    return client
  }
  const write = async (method: 'PATCH' | 'DELETE', name: string, id: string, body?: object) => {
    const res = await t.call({
      method,
      url: `/api/collections/${name}/records/${id}`,
      ...(body ? { payload: body } : {}),
    })
    expect(res.statusCode, res.body).toBeLessThan(300)
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      realtime: { heartbeatMs: 200, maxSubscriptionsPerConnection: 3, maxConnectionsPerUser: 50 },
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'status', type: 'select', values: ['draft', 'published'] },
        { name: 'secret', type: 'text', hidden: true },
      ],
    })
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
    })
    await createRecord(t, 'users', { email: 'u@example.com', password: 'a long password' })
    const login = await t.engine.auth.loginWithPassword('users', {
      identity: 'u@example.com',
      password: 'a long password',
    })
    if (!('token' in login)) throw new Error('the test user has MFA on')
    userToken = login.token
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterAll(async () => {
    for (const client of clients) client.close()
    await t?.close()
  })

  // Who may subscribe to `posts`, as rows. When view rules arrive, rows for rule-allowed users
  // join this table with the events they must (and must not) receive.
  const access: {
    who: string
    headers: () => Record<string, string>
    status: number
    code?: string
  }[] = [
    { who: 'a superuser', headers: () => ({ authorization: `Bearer ${t.token}` }), status: 200 },
    {
      who: 'anonymous',
      headers: () => ({}),
      status: 401,
      code: 'ER_AUTH_REQUIRED',
    },
    {
      who: 'a bad token',
      headers: () => ({ authorization: 'Bearer nope' }),
      status: 401,
      code: 'ER_AUTH_TOKEN_INVALID',
    },
    {
      who: 'a user (records are superuser-only until rules land)',
      headers: () => ({ authorization: `Bearer ${userToken}` }),
      status: 403,
      code: 'ER_FORBIDDEN',
    },
  ]
  it.each(access)('subscribing as $who answers $status', async ({ headers, status, code }) => {
    const h = headers()
    if (status === 200) {
      const client = await subscribe('topic=posts', h)
      expect(client.status).toBe(200)
      expect(client.response.headers['content-type']).toMatch(/^text\/event-stream/)
      client.close()
      return
    }
    // Refusals are ordinary problem documents, answered before any stream begins.
    const res = await t.app.inject({ method: 'GET', url: '/api/realtime?topic=posts', headers: h })
    expectProblem(res, status, code as string)
  })

  const refused: { query: string; status: number; code: string; field?: string }[] = [
    { query: '', status: 400, code: 'ER_VALIDATION_FAILED', field: 'topic' },
    { query: 'topic=posts/bad id', status: 400, code: 'ER_VALIDATION_FAILED', field: 'topic' },
    {
      query: 'topic=a&topic=b&topic=c&topic=d',
      status: 400,
      code: 'ER_VALIDATION_FAILED',
      field: 'topic',
    },
    { query: 'topic=nope', status: 404, code: 'ER_COLLECTION_NOT_FOUND' },
    { query: 'topic=posts&filter=nope%20%3D%201', status: 400, code: 'ER_FILTER_UNKNOWN_FIELD' },
    {
      query: 'topic=posts&lastEventId=x',
      status: 400,
      code: 'ER_VALIDATION_FAILED',
      field: 'Last-Event-ID',
    },
    {
      query: 'topic=posts&ticket=unknown',
      status: 401,
      code: 'ER_AUTH_TOKEN_INVALID',
      field: 'ticket',
    },
  ]
  it.each(refused)('refuses "$query" with $status', async ({ query, status, code, field }) => {
    const res = await t.call({ method: 'GET', url: `/api/realtime?${query}` })
    const problem = expectProblem(res, status, code)
    if (field) expect(Object.keys(problem.errors ?? {})).toContain(field)
  })

  it('streams create, update and delete in order, with hidden fields for superusers only', async () => {
    const client = await subscribe('topic=posts')
    const post = await createRecord(t, 'posts', { title: 'one', status: 'draft', secret: 's' })
    const id = post.id as string
    await write('PATCH', 'posts', id, { title: 'two' })
    await write('DELETE', 'posts', id)
    const events = await client.waitFor((e) => e.length >= 3)
    expect(events.map((e) => e.event)).toEqual(['create', 'update', 'delete'])
    expect(events.map((e) => data(e).record.id)).toEqual([id, id, id])
    expect(data(events[1] as SseEvent)).toMatchObject({
      collection: 'posts',
      action: 'update',
      record: { title: 'two', secret: 's' },
    })
    const ids = events.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(3)
    client.close()
  })

  it('answers 200 only once subscribed: a write made at once still arrives', async () => {
    // A slow outbox read widens the window between opening and attaching the stream.
    const store = t.engine.store
    const outboxBounds = store.outboxBounds.bind(store)
    store.outboxBounds = async () => {
      await new Promise((resolve) => setTimeout(resolve, 150))
      return outboxBounds()
    }
    try {
      const client = await subscribe('topic=posts')
      expect(client.status).toBe(200)
      const post = await createRecord(t, 'posts', { title: 'at once', status: 'draft' })
      const events = await client.waitFor((e) => e.length >= 1)
      expect(events.map((e) => data(e).record.id)).toEqual([post.id])
      client.close()
    } finally {
      store.outboxBounds = outboxBounds
    }
  })

  it('judges each event on its own record state, even when the record is gone by delivery', async () => {
    const filtered = await subscribe(
      `topic=posts&filter=${encodeURIComponent('status = "published"')}`,
    )
    const post = await createRecord(t, 'posts', { title: 'p', status: 'draft' })
    const url = `/api/collections/posts/records/${post.id as string}`
    // One transaction, so one dispatched batch: by fan-out time the record no longer exists,
    // and its stored state never matched the filter at all.
    const res = await t.call({
      method: 'POST',
      url: '/api/batch',
      payload: {
        requests: [
          { method: 'PATCH', url, body: { status: 'published', title: 'live' } },
          { method: 'PATCH', url, body: { status: 'draft', title: 'back' } },
          { method: 'DELETE', url },
        ],
      },
    })
    expect(res.statusCode, res.body).toBe(200)
    await createRecord(t, 'posts', { title: 'marker', status: 'published' })
    const seen = await filtered.waitFor((e) => e.some((x) => data(x).record.title === 'marker'))
    expect(seen.map((e) => [e.event, data(e).record.title])).toEqual([
      ['update', 'live'],
      ['create', 'marker'],
    ])
    filtered.close()
  })

  it('applies the subscription filter and the topic of one record', async () => {
    const filtered = await subscribe(
      `topic=posts&filter=${encodeURIComponent('status = "published"')}`,
    )
    const target = await createRecord(t, 'posts', { title: 'target', status: 'draft' })
    const one = await subscribe(`topic=posts/${target.id as string}`)
    await createRecord(t, 'posts', { title: 'hidden draft', status: 'draft' })
    await createRecord(t, 'posts', { title: 'shown', status: 'published' })
    await write('PATCH', 'posts', target.id as string, { title: 'target 2' })
    // Delivery is in commit order, so once the last write arrives any earlier one would have too.
    const seen = await filtered.waitFor((e) => e.some((x) => data(x).record.title === 'shown'))
    expect(seen.map((e) => data(e).record.title)).toEqual(['shown'])
    const mine = await one.waitFor((e) => e.length >= 1)
    expect(mine.map((e) => [e.event, data(e).record.title])).toEqual([['update', 'target 2']])
    filtered.close()
    one.close()
  })

  it('resumes after a forced disconnect with Last-Event-ID: no gap, no duplicate', async () => {
    const first = await subscribe('topic=posts')
    const before = []
    for (let i = 0; i < 3; i++) before.push(await createRecord(t, 'posts', { title: `a${i}` }))
    await first.waitFor((e) => e.length >= 3)
    first.close()
    const missed = []
    for (let i = 0; i < 4; i++) missed.push(await createRecord(t, 'posts', { title: `b${i}` }))
    const again = await subscribe('topic=posts', { 'last-event-id': first.lastEventId as string })
    const live = await createRecord(t, 'posts', { title: 'c' })
    const events = await again.waitFor((e) => e.some((x) => data(x).record.id === live.id))
    expect(events.map((e) => data(e).record.id)).toEqual([...missed, live].map((r) => r.id))
    again.close()
  })

  it('sends a heartbeat comment while idle', async () => {
    const client = await subscribe('topic=posts')
    const start = client.comments
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (client.comments <= start + 1 && !client.ended) return
        clearInterval(timer)
        if (client.ended) reject(new Error('ended'))
        else resolve()
      }, 50)
    })
    client.close()
  })

  it('tells a client resuming from a pruned event to reset', async () => {
    const first = await subscribe('topic=posts')
    await createRecord(t, 'posts', { title: 'old' })
    await first.waitFor((e) => e.length >= 1)
    first.close()
    // A live watcher shows when this node has passed the newest event: the resumed stream
    // below must start after it (an event still on its way would otherwise arrive after reset).
    const watcher = await subscribe('topic=posts')
    for (let i = 0; i < 3; i++) await createRecord(t, 'posts', { title: `new${i}` })
    await watcher.waitFor((e) => e.some((x) => data(x).record.title === 'new2'))
    watcher.close()
    // Keep only the newest event: the one after the client's id is gone.
    expect(await t.engine.store.pruneChanges({ events: 1 })).toBeGreaterThan(0)
    const again = await subscribe('topic=posts', { 'last-event-id': first.lastEventId as string })
    const after = await createRecord(t, 'posts', { title: 'after reset' })
    const events = await again.waitFor((e) =>
      e.some((x) => x.event !== 'reset' && data(x).record.id === after.id),
    )
    expect(events[0]?.event).toBe('reset')
    expect(changes(events).map((e) => data(e).record.id)).toEqual([after.id])
    const unknown = await subscribe('topic=posts', { 'last-event-id': '999999999' })
    await unknown.waitFor((e) => e.length >= 1)
    expect(unknown.events[0]?.event).toBe('reset')
    again.close()
    unknown.close()
  })

  it('is described in the OpenAPI document as text/event-stream', async () => {
    const doc = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: object }> }>>
    }
    expect(Object.keys(doc.paths['/api/realtime']?.get?.responses['200']?.content ?? {})).toEqual([
      'text/event-stream',
    ])
    expect(doc.paths['/api/realtime/ticket']?.post).toBeDefined()
  })

  it('accepts a ticket instead of a header, then only for reconnects of that stream', async () => {
    const res = await t.call({ method: 'POST', url: '/api/realtime/ticket' })
    expect(res.statusCode, res.body).toBe(200)
    const { ticket, expiresIn } = res.json() as { ticket: string; expiresIn: number }
    expect(expiresIn).toBeGreaterThan(0)
    const client = await openSse(`${base}/api/realtime?topic=posts&ticket=${ticket}`)
    clients.push(client)
    expect(client.status).toBe(200)
    const post = await createRecord(t, 'posts', { title: 'by ticket' })
    await client.waitFor((e) => e.some((x) => data(x).record.id === post.id))
    // Spent on its first stream: another stream (other topics, or a filter) is refused.
    for (const query of ['topic=posts/x1', 'topic=posts&filter=title%3D%22a%22']) {
      const other = await openSse(`${base}/api/realtime?${query}&ticket=${ticket}`)
      expect(other.status).toBe(401)
      expect(JSON.parse(await other.body())).toMatchObject({ code: 'ER_AUTH_TOKEN_INVALID' })
    }
    // The same stream again (what EventSource does after a drop) resumes after its last event.
    client.close()
    const missed = await createRecord(t, 'posts', { title: 'while away' })
    const again = await openSse(`${base}/api/realtime?topic=posts&ticket=${ticket}`, {
      'last-event-id': client.lastEventId as string,
    })
    clients.push(again)
    expect(again.status).toBe(200)
    const resumed = await again.waitFor((e) => e.some((x) => data(x).record.id === missed.id))
    expect(resumed.filter((x) => data(x).record.id === post.id)).toEqual([])
    again.close()
    const anonymous = await t.call({ method: 'POST', url: '/api/realtime/ticket', anonymous: true })
    expectProblem(anonymous, 401, 'ER_AUTH_REQUIRED')
  })
})
