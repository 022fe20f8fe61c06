/**
 * One subscriber's failure never stalls or skips another's delivery. The failure is real, not
 * injected: another process renames a column behind this node's back (as a node on a stale
 * schema sees it), so a filter through that column throws at evaluation while every other
 * stream's check still runs. The failing SSE stream gets `event: error` with a problem body and
 * the id to resume from, then closes; the GraphQL subscription with the same filter gets an
 * error result and completes; each failure is one JSON log line with its request id and a count
 * in `er_realtime_subscriber_errors_total`; and, the column back, resuming from that id
 * delivers every event the failed stream missed.
 */
import { Writable } from 'node:stream'
import { createClient, type Client } from 'graphql-ws'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import type { Store } from '../../src/adapters/store/store.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { parsePrometheusText } from '../helpers/prometheus-text.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

type Rec = Record<string, unknown>
const titles = (events: SseEvent[]) =>
  events
    .filter((e) => e.event !== 'error')
    .map((e) => String((JSON.parse(e.data) as { record: Rec }).record.title))

describe.each(await availableDialects())('realtime subscriber isolation on %s', (dialect) => {
  let t: TestEngine
  let other: Store
  let base: string
  const logLines: string[] = []
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}
  const clients: SseClient[] = []
  const graphqlClients: Client[] = []

  async function signUp(email: string): Promise<void> {
    const user = await createRecord(t, 'users', { email, password: 'a long password' })
    ids[email] = user.id as string
    const login = await t.engine.auth.loginWithPassword('users', {
      identity: email,
      password: 'a long password',
    })
    if (!('token' in login)) throw new Error('MFA is on')
    tokens[email] = login.token
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      logger: {
        level: 'info',
        stream: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logLines.push(...chunk.toString().split('\n').filter(Boolean))
            done()
          },
        }),
      },
    })
    other = await t.openAnotherStore()
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await signUp('ann@example.com')
    await signUp('bob@example.com')
    await createCollection(t, {
      name: 'tags',
      fields: [{ name: 'name', type: 'text' }],
      rules: { list: '', view: '' },
    })
    ids.t1 = (await createRecord(t, 'tags', { name: 't1' })).id as string
    const rule = 'flag = true || owner = @request.auth.id'
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'flag', type: 'bool' },
        { name: 'ref', type: 'relation', collection: 'tags' },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: { list: rule, view: rule },
    })
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterAll(async () => {
    for (const client of clients) client.close()
    for (const client of graphqlClients) await client.dispose()
    await other?.close()
    await t?.close()
  })

  const open = async (token: string, query: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${base}/api/realtime?topic=notes${query}`, {
      authorization: `Bearer ${token}`,
      ...headers,
    })
    expect(client.status).toBe(200)
    clients.push(client)
    // The preface comment comes once the hub attached the stream: later writes reach it.
    for (let i = 0; i < 400 && client.comments === 0; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    return client
  }

  const write = async (title: string) => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/notes/records',
      payload: { title, flag: true, ref: ids.t1, owner: ids['ann@example.com'] },
    })
    expect(res.statusCode, res.body).toBe(201)
  }

  /** What another process does to the database, unseen by this node's schema. */
  const renameColumn = (from: string, to: string) =>
    sql`alter table ${sql.table('tags')} rename column ${sql.id(from)} to ${sql.id(to)}`.execute(
      // The other store's own connection (its Kysely is not part of the Store port).
      (other as unknown as { db: DynamicDb }).db,
    )

  const subscriberErrors = async (reason: string) => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    const sample = parsePrometheusText(res.body).samples.find(
      (s) => s.name === 'er_realtime_subscriber_errors_total' && s.labels.reason === reason,
    )
    return sample?.value
  }

  it('ends the failing stream alone; the others receive every event', async () => {
    const ann = tokens['ann@example.com'] as string
    const failingFilter = 'ref.name = "t1"'
    const root = await open(t.token, '')
    const annAll = await open(ann, '')
    const bobFiltered = await open(
      tokens['bob@example.com'] as string,
      '&filter=title%20~%20%22o%22',
    )
    const failing = await open(ann, `&filter=${encodeURIComponent(failingFilter)}`, {
      'x-request-id': 'rt-fail-1',
    })
    const graphql = { values: [] as string[], errors: [] as Rec[], completed: false }
    const client = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { 'x-request-id': 'gql-conn-1' } })
        }
      },
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${ann}` },
    })
    graphqlClients.push(client)
    const before = t.engine.realtime?.hub.size ?? 0
    client.subscribe(
      {
        query: `subscription ($f: String) { notesChanges(filter: $f) { record { title } } }`,
        variables: { f: failingFilter },
      },
      {
        next: (value) => {
          if (value.errors) graphql.errors.push(...(value.errors as unknown as Rec[]))
          const change = (value.data as Rec | null | undefined)?.notesChanges as
            { record: Rec } | undefined
          if (change) graphql.values.push(String(change.record.title))
        },
        error: (error) => graphql.errors.push({ transport: String(error) }),
        complete: () => (graphql.completed = true),
      },
    )
    for (let i = 0; i < 400 && (t.engine.realtime?.hub.size ?? 0) <= before; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    const checkFailuresBefore = (await subscriberErrors('check_failed')) ?? 0

    await write('one')
    await failing.waitFor((e) => e.length >= 1)
    await renameColumn('name', 'name_gone')
    await write('two')
    await write('three')
    await write('four')

    const all = ['one', 'two', 'three', 'four']
    expect(titles(await root.waitFor((e) => e.length >= 4))).toEqual(all)
    expect(titles(await annAll.waitFor((e) => e.length >= 4))).toEqual(all)
    expect(titles(await bobFiltered.waitFor((e) => e.length >= 3))).toEqual(['one', 'two', 'four'])

    // The failing stream: 'one', then an error naming the last event it passed, then the end.
    const failed = await failing.waitFor((e) => e.some((x) => x.event === 'error'))
    expect(titles(failed)).toEqual(['one'])
    const error = failed.at(-1) as SseEvent
    expect(error.event).toBe('error')
    const problem = JSON.parse(error.data) as Rec
    const oneId = (failed[0] as SseEvent).id as string
    expect(error.id).toBe(oneId)
    expect(problem).toMatchObject({
      type: 'urn:engineroom:error:ER_INTERNAL',
      title: 'Internal server error',
      status: 500,
      code: 'ER_INTERNAL',
      reason: 'subscriber_failed',
      lastEventId: oneId,
    })
    // Nothing of the database error reaches the client.
    expect(error.data).not.toMatch(/name_gone|column|SQL/i)
    for (let i = 0; i < 200 && !failing.ended; i++) await new Promise((r) => setTimeout(r, 10))
    expect(failing.ended).toBe(true)

    // The GraphQL subscription with the same filter: an error result, then complete.
    for (let i = 0; i < 400 && !graphql.completed; i++) await new Promise((r) => setTimeout(r, 10))
    expect(graphql.values).toEqual(['one'])
    expect(graphql.errors).toHaveLength(1)
    expect(graphql.errors[0]).toMatchObject({
      extensions: { code: 'ER_INTERNAL', reason: 'subscriber_failed', lastEventId: oneId },
    })
    expect(graphql.completed).toBe(true)

    // Counted (the SSE stream and the GraphQL subscription) and logged, one JSON line each.
    expect(await subscriberErrors('check_failed')).toBe(checkFailuresBefore + 2)
    const failures = logLines
      .map((line) => JSON.parse(line) as Rec)
      .filter((line) => line.msg === 'realtime subscriber failed')
    expect(failures).toHaveLength(2)
    const sseLine = failures.find((line) => line.reqId === 'rt-fail-1')
    expect(sseLine).toMatchObject({
      level: 50,
      collection: 'notes',
      reason: 'check_failed',
      lastEventId: Number(oneId),
      err: { message: expect.stringMatching(/name/) as unknown },
    })
    const graphqlLine = failures.find((line) => String(line.reqId).startsWith('gql-conn-1:'))
    expect(graphqlLine).toMatchObject({ collection: 'notes', reason: 'check_failed' })

    // The others are still open, and the column back, a resumed stream misses nothing.
    for (const healthy of [root, annAll, bobFiltered]) expect(healthy.ended).toBe(false)
    await renameColumn('name_gone', 'name')
    const resumed = await open(ann, `&filter=${encodeURIComponent(failingFilter)}`, {
      'last-event-id': oneId,
    })
    expect(titles(await resumed.waitFor((e) => e.length >= 3))).toEqual(['two', 'three', 'four'])
    await write('five')
    expect(titles(await resumed.waitFor((e) => e.length >= 4))).toEqual([
      'two',
      'three',
      'four',
      'five',
    ])
    expect(titles(await root.waitFor((e) => e.length >= 5))).toEqual([...all, 'five'])
  })
})
