/**
 * Realtime without the SDK, on both dialects and across two nodes on one database: anonymous
 * streams of what anyone may see (and 401 for what no anonymous caller could), and a ticket that
 * reopens the same stream after a drop — on either node, resuming from Last-Event-ID — until
 * its session or API key is revoked, and never opens another stream.
 */
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Bus } from '../../src/adapters/bus/bus.js'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { createRedisBus } from '../../src/adapters/bus/redis/redis-bus.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSecondNode, type SecondNode } from '../helpers/second-node.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const REDIS_URL = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const idsOf = (events: SseEvent[]) =>
  events.map((e) => (JSON.parse(e.data) as { record: { id: string } }).record.id)

describe.each(await availableDialects())('realtime without the SDK on %s', (dialect) => {
  let a: TestEngine
  let b: SecondNode
  let baseA: string
  let baseB: string
  let userToken: string
  const buses: Bus[] = []
  const streams: SseClient[] = []

  const open = async (base: string, query: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${base}/api/realtime?${query}`, headers)
    streams.push(client)
    return client
  }
  const signIn = async () => {
    const res = await a.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: 'a long password' },
      anonymous: true,
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { token: string; refreshToken: string }
  }
  const ticketFor = async (token: string) => {
    const res = await a.app.inject({
      method: 'POST',
      url: '/api/realtime/ticket',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { ticket: string }).ticket
  }

  beforeAll(async () => {
    // Redis between PostgreSQL nodes as deployed; on SQLite, the in-process bus stands for IPC.
    const prefix = `er-test-rt-${Math.random().toString(36).slice(2, 10)}:`
    const shared = dialect === 'sqlite' ? createInProcessBus() : undefined
    const openBus = async () => shared ?? createRedisBus({ url: REDIS_URL, prefix })
    const busA = await openBus()
    const busB = await openBus()
    buses.push(...(busA === busB ? [] : [busB]))
    a = await createTestEngine(dialect, { bus: busA, realtime: { heartbeatMs: 200 } })
    b = await openSecondNode(a, { bus: busB, schemaRecheckMs: 0 })
    await createCollection(a, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: { list: null, view: null, create: '', update: null, delete: null },
    })
    await createCollection(a, {
      name: 'news',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'published', type: 'bool' },
      ],
      // Anyone may see published news; the rest is superusers' business.
      rules: { list: 'published = true', view: 'published = true' },
    })
    await createCollection(a, {
      name: 'diaries',
      fields: [
        { name: 'line', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users', maxSelect: 1 },
      ],
      rules: { list: 'owner = @request.auth.id', view: 'owner = @request.auth.id' },
    })
    await createCollection(a, {
      name: 'tickets_only',
      fields: [{ name: 'title', type: 'text' }],
      // A record may be looked at by id, but the collection may not be browsed.
      rules: { list: null, view: '' },
    })
    await createRecord(a, 'users', { email: 'ann@example.com', password: 'a long password' })
    userToken = (await signIn()).token
    baseA = await a.app.listen({ host: '127.0.0.1', port: 0 })
    baseB = await b.app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterAll(async () => {
    for (const stream of streams) stream.close()
    await b?.close()
    await a?.close()
    for (const bus of buses) await bus.close()
  })

  it('streams to an anonymous caller what anyone may see, and nothing else', async () => {
    const anonymous = await open(baseA, 'topic=news')
    expect(anonymous.status).toBe(200)
    const hidden = await createRecord(a, 'news', { title: 'draft', published: false })
    const shown = await createRecord(a, 'news', { title: 'out now', published: true })
    await anonymous.waitFor((events) => idsOf(events).includes(shown.id as string))
    expect(idsOf(anonymous.events)).not.toContain(hidden.id)

    const one = await createRecord(a, 'tickets_only', { title: 'T-1' })
    const byId = await open(baseB, `topic=tickets_only/${String(one.id)}`)
    expect(byId.status).toBe(200)
  })

  it.each([
    ['a rule only a signed-in owner can meet', 'topic=diaries'],
    ['a collection that cannot be browsed', 'topic=tickets_only'],
    ['superusers-only records', 'topic=users'],
    ['one refused topic among allowed ones', 'topic=news&topic=diaries'],
  ])('refuses an anonymous stream of %s with 401', async (_what, query) => {
    const res = await a.app.inject({ method: 'GET', url: `/api/realtime?${query}` })
    expectProblem(res, 401, 'ER_AUTH_REQUIRED')
  })

  it('reopens the same stream with its ticket on the other node, with no event lost', async () => {
    const ticket = await ticketFor(a.token)
    const first = await open(baseA, `topic=news&ticket=${ticket}`)
    expect(first.status).toBe(200)
    const before = await createRecord(a, 'news', { title: 'one', published: false })
    await first.waitFor((events) => idsOf(events).includes(before.id as string))
    first.close()
    const missed = await createRecord(a, 'news', { title: 'two', published: false })
    const again = await open(baseB, `topic=news&ticket=${ticket}`, {
      'last-event-id': first.lastEventId as string,
    })
    expect(again.status).toBe(200)
    const after = await createRecord(a, 'news', { title: 'three', published: false })
    await again.waitFor((events) => idsOf(events).includes(after.id as string))
    // The superuser's stream sees drafts; the reconnect neither repeats nor skips anything.
    expect(idsOf(again.events)).toEqual([missed.id, after.id])
    // Another stream with the same ticket is refused on either node.
    for (const base of [baseA, baseB]) {
      const other = await open(base, `topic=diaries&ticket=${ticket}`)
      expect(other.status).toBe(401)
    }
  })

  it('stops reconnects once the session is revoked, on this node and the other', async () => {
    const session = await signIn()
    const ticket = await ticketFor(session.token)
    expect((await open(baseA, `topic=diaries&ticket=${ticket}`)).status).toBe(200)
    expect((await open(baseB, `topic=diaries&ticket=${ticket}`)).status).toBe(200)
    const logout = await a.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/logout',
      headers: { authorization: `Bearer ${session.token}` },
    })
    expect(logout.statusCode, logout.body).toBeLessThan(300)
    expect((await open(baseA, `topic=diaries&ticket=${ticket}`)).status).toBe(401)
    // The other node rechecks callers it has seen within its recheck interval (a second).
    await vi.waitFor(
      async () => expect((await open(baseB, `topic=diaries&ticket=${ticket}`)).status).toBe(401),
      { timeout: 10_000, interval: 250 },
    )
    // Another session of the same user is untouched.
    expect((await open(baseA, `topic=diaries&ticket=${await ticketFor(userToken)}`)).status).toBe(
      200,
    )
  })

  it('stops reconnects once the API key that minted the ticket is revoked', async () => {
    const created = await a.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/api-keys',
      payload: { name: 'feed', scopes: [{ collection: 'diaries', operations: ['list', 'view'] }] },
      headers: { authorization: `Bearer ${userToken}` },
    })
    expect(created.statusCode, created.body).toBe(201)
    const key = created.json() as { id: string; key: string }
    const ticket = await ticketFor(key.key)
    expect((await open(baseA, `topic=diaries&ticket=${ticket}`)).status).toBe(200)
    const revoked = await a.app.inject({
      method: 'DELETE',
      url: `/api/collections/users/auth/api-keys/${key.id}`,
      headers: { authorization: `Bearer ${userToken}` },
    })
    expect(revoked.statusCode, revoked.body).toBe(204)
    const again = await open(baseB, `topic=diaries&ticket=${ticket}`)
    expect(again.status).toBe(401)
  })

  it('keeps neither the ticket nor the token readable in the database', async () => {
    const ticket = await ticketFor(userToken)
    expect((await open(baseA, `topic=diaries&ticket=${ticket}`)).status).toBe(200)
    const rows = await readTickets(a.database)
    expect(rows.length).toBeGreaterThan(0)
    const text = JSON.stringify(rows)
    expect(text).not.toContain(ticket)
    expect(text).not.toContain(userToken)
    expect(text).not.toContain(userToken.split('.')[1] as string)
  })
})

/** The ticket table as a database reader sees it, bypassing the engine. */
async function readTickets(database: TestEngine['database']): Promise<unknown[]> {
  if ('file' in database) {
    const db = new Database(database.file, { readonly: true })
    try {
      return db.prepare('select * from _realtime_tickets').all()
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    return (await client.query('select * from _realtime_tickets')).rows
  } finally {
    await client.end()
  }
}
