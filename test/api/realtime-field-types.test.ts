/**
 * Realtime on a collection with every field type, under a view rule and a client filter that
 * touch each field: every event is judged on its own snapshot (which casts each column to its
 * SQL type), on SSE and GraphQL subscriptions alike, while other streams keep receiving.
 * A bool field used to break the check (`cast(? as INTEGER NOT NULL DEFAULT 0)`) and stall
 * every stream of the node.
 */
import { createClient, type Client } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { sql } from 'kysely'
import { postgresAdapter } from '../../src/adapters/store/postgres/postgres-store.js'
import { sqliteAdapter } from '../../src/adapters/store/sqlite/sqlite-store.js'
import type { FieldDef } from '../../src/core/schema/types.js'
import { availableDialects, createRawDatabase } from '../helpers/dialects.js'
import { createFilesTestEngine, multipartBody } from '../helpers/files-engine.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import type { TestEngine } from '../helpers/test-engine.js'

type Rec = Record<string, unknown>
const data = (e: SseEvent) => JSON.parse(e.data) as { action: string; record: Rec }
const seen = (events: SseEvent[]) => events.map((e) => `${e.event} ${String(data(e).record.title)}`)

/** The client filter: one condition on each field type (and one relation hop of each kind). */
const FILTER = [
  'title ~ "match"',
  'qty >= 1',
  'flag = true',
  'when >= "2024-01-01T00:00:00.000Z"',
  'mail ~ "@good.example"',
  'site ~ "https://good."',
  'kind = "b"',
  'labels ?= "x"',
  'meta != null',
  'ref.name = "t1"',
  'refs.name ?= "t2"',
  'stamp != null',
  'doc != ""',
].join(' && ')

describe.each(await availableDialects())('realtime with every field type on %s', (dialect) => {
  let t: TestEngine
  let base: string
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
    t = await createFilesTestEngine(dialect, 'local', undefined)
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await signUp('ann@example.com')
    await signUp('bob@example.com')
    await createCollection(t, {
      name: 'tags',
      fields: [{ name: 'name', type: 'text' }],
      rules: { list: '', view: '' },
    })
    for (const name of ['t1', 't2', 't3']) {
      ids[name] = (await createRecord(t, 'tags', { name })).id as string
    }
    // A view rule on a bool, a number and a relation: every event is checked in SQL.
    const rule = 'owner = @request.auth.id && (flag = true || qty > 100)'
    await createCollection(t, {
      name: 'things',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'qty', type: 'number' },
        { name: 'flag', type: 'bool' },
        { name: 'when', type: 'date' },
        { name: 'mail', type: 'email' },
        { name: 'site', type: 'url' },
        { name: 'kind', type: 'select', values: ['a', 'b', 'c'] },
        { name: 'labels', type: 'select', values: ['x', 'y', 'z'], maxSelect: 3 },
        { name: 'meta', type: 'json' },
        { name: 'ref', type: 'relation', collection: 'tags' },
        { name: 'refs', type: 'relation', collection: 'tags', maxSelect: 5 },
        { name: 'stamp', type: 'autodate', onCreate: true, onUpdate: true },
        { name: 'doc', type: 'file' },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: { list: rule, view: rule },
    })
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterAll(async () => {
    for (const client of clients) client.close()
    for (const client of graphqlClients) await client.dispose()
    await t?.close()
  })

  const open = async (token: string, filter?: string) => {
    const query = filter ? `&filter=${encodeURIComponent(filter)}` : ''
    const client = await openSse(`${base}/api/realtime?topic=things${query}`, {
      authorization: `Bearer ${token}`,
    })
    expect(client.status).toBe(200)
    clients.push(client)
    // The preface comment says the hub attached it: later writes reach it.
    await new Promise<void>((resolve) => {
      const check = () => (client.comments > 0 ? resolve() : setTimeout(check, 10))
      check()
    })
    return client
  }

  const subscribeGraphql = async (token: string, filter: string) => {
    const received: { titles: string[]; errors: unknown[] } = { titles: [], errors: [] }
    const client = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    })
    graphqlClients.push(client)
    const before = t.engine.realtime?.hub.size ?? 0
    client.subscribe(
      {
        query: `subscription ($f: String) { thingsChanges(filter: $f) { action record { title flag labels meta doc ref { name } refs { name } } } }`,
        variables: { f: filter },
      },
      {
        next: (value) => {
          if (value.errors) received.errors.push(...value.errors)
          const change = (value.data as Rec | undefined)?.thingsChanges as
            { action: string; record: Rec } | undefined
          if (change) received.titles.push(`${change.action} ${String(change.record.title)}`)
        },
        error: (error) => received.errors.push(error),
        complete: () => {},
      },
    )
    for (let i = 0; i < 400 && (t.engine.realtime?.hub.size ?? 0) <= before; i++) {
      await new Promise((r) => setTimeout(r, 25))
    }
    return received
  }

  it('judges each event on every field type, for each stream, and stalls none', async () => {
    const root = await open(t.token)
    const annAll = await open(tokens['ann@example.com'] as string)
    const annFiltered = await open(tokens['ann@example.com'] as string, FILTER)
    const bob = await open(tokens['bob@example.com'] as string, FILTER)
    const annGraphql = await subscribeGraphql(tokens['ann@example.com'] as string, FILTER)

    const matching: Rec = {
      title: 'match',
      qty: 5,
      flag: true,
      when: '2025-06-01T12:00:00.000Z',
      mail: 'ann@good.example',
      site: 'https://good.example/page',
      kind: 'b',
      labels: ['x', 'y'],
      meta: { deep: [1, 'two', { three: true }] },
      ref: ids.t1,
      refs: [ids.t3, ids.t2],
      owner: ids['ann@example.com'],
    }
    const write = async (method: 'POST' | 'PATCH', body: Rec, id?: string) => {
      const res = await t.call({
        method,
        url: `/api/collections/things/records${id ? `/${id}` : ''}`,
        payload: body,
      })
      expect(res.statusCode, res.body).toBeLessThan(300)
      return res.json() as Rec
    }
    const match = await write('POST', matching)
    // Each variant breaks exactly one condition of the filter and stays visible to ann.
    const variants: Rec = {
      title: 'other',
      qty: 0,
      flag: false, // visible through `qty > 100` below
      when: '2023-12-31T23:59:59.000Z',
      mail: 'ann@bad.example',
      site: 'https://bad.example/',
      kind: 'a',
      labels: ['y', 'z'],
      meta: null,
      ref: ids.t3,
      refs: [ids.t1, ids.t3],
    }
    for (const [field, value] of Object.entries(variants)) {
      await write('POST', {
        ...matching,
        ...(field === 'flag' ? { qty: 500 } : {}),
        [field]: value,
        title: field === 'title' ? 'other' : `match but ${field}`,
      })
    }
    // Hidden by the rule (ann's, but neither flag nor qty > 100), then another owner's.
    await write('POST', { ...matching, title: 'match hidden', flag: false, qty: 1 })
    await write('POST', { ...matching, title: 'match of bob', owner: ids['bob@example.com'] })
    // The file arrives: now the record matches the whole filter.
    const { payload, headers } = multipartBody([
      { name: 'doc', filename: 'notes.txt', content: Buffer.from('plain text notes\n') },
    ])
    const withDoc = await t.call({
      method: 'PATCH',
      url: `/api/collections/things/records/${match.id as string}`,
      payload,
      headers,
    })
    expect(withDoc.statusCode, withDoc.body).toBe(200)
    await write('PATCH', { flag: false, qty: 2 }, match.id as string) // hidden by the rule now
    await write('PATCH', { flag: true, title: 'match again' }, match.id as string)

    const variantTitles = Object.keys(variants).map((f) =>
      f === 'title' ? 'create other' : `create match but ${f}`,
    )
    const everything = [
      'create match',
      ...variantTitles,
      'create match hidden',
      'create match of bob',
      'update match',
      'update match',
      'update match again',
    ]
    expect(seen(await root.waitFor((e) => e.length >= everything.length))).toEqual(everything)
    const annSees = ['create match', ...variantTitles, 'update match', 'update match again']
    expect(seen(await annAll.waitFor((e) => e.length >= annSees.length))).toEqual(annSees)
    const filtered = await annFiltered.waitFor((e) => e.length >= 2)
    expect(seen(filtered)).toEqual(['update match', 'update match again'])
    // Every field comes through with its type intact.
    expect(data(filtered[0] as SseEvent).record).toMatchObject({
      ...matching,
      doc: expect.stringMatching(/^notes_\w+\.txt$/) as unknown,
      stamp: expect.any(String) as unknown,
    })
    for (let i = 0; i < 200 && annGraphql.titles.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(annGraphql.errors).toEqual([])
    expect(annGraphql.titles).toEqual(['UPDATE match', 'UPDATE match again'])
    // Bob's filtered stream saw none of ann's records, and is still open.
    expect(bob.events).toEqual([])
    expect(bob.ended).toBe(false)
    for (const client of [root, annAll, annFiltered]) {
      expect(client.events.filter((e) => e.event === 'error')).toEqual([])
    }
  })

  it('casts a bound value to the SQL type of every field type, constraints left out', async () => {
    const adapter = dialect === 'sqlite' ? sqliteAdapter : postgresAdapter
    const fields: FieldDef[] = [
      { id: 'f1', name: 'a', type: 'text' },
      { id: 'f2', name: 'a', type: 'number' },
      { id: 'f3', name: 'a', type: 'bool' },
      { id: 'f4', name: 'a', type: 'date' },
      { id: 'f5', name: 'a', type: 'email' },
      { id: 'f6', name: 'a', type: 'url' },
      { id: 'f7', name: 'a', type: 'select', values: ['x'] },
      { id: 'f8', name: 'a', type: 'select', values: ['x', 'y'], maxSelect: 2 },
      { id: 'f9', name: 'a', type: 'json' },
      { id: 'f10', name: 'a', type: 'relation', collection: 'tags' },
      { id: 'f11', name: 'a', type: 'relation', collection: 'tags', maxSelect: 3 },
      { id: 'f12', name: 'a', type: 'autodate', onCreate: true, onUpdate: false },
      { id: 'f13', name: 'a', type: 'file' },
      { id: 'f14', name: 'a', type: 'file', maxSelect: 2 },
    ]
    const raw = await createRawDatabase(dialect)
    try {
      for (const field of fields) {
        const { type, collate } = adapter.columnType(field)
        expect(type, field.type).not.toMatch(/\b(not|null|default|collate|primary|unique)\b/i)
        const value = sql`cast(${null} as ${sql.raw(type)})`
        const result = await sql<{
          v: unknown
        }>`select ${collate ? sql`${value} ${sql.raw(collate)}` : value} as v`.execute(raw.db)
        expect(result.rows, `${dialect} ${field.type}`).toEqual([{ v: null }])
      }
    } finally {
      await raw.destroy()
    }
  })
})
