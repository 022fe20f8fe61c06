/**
 * GraphQL is loaded by the first request or upgrade that needs it (graphql-js, graphql-http,
 * graphql-ws and ws are not held by a server that is never asked): on a fresh server, a
 * WebSocket subscription as the very first GraphQL contact, first queries arriving together,
 * and a batch as the first request all get the answers a warmed-up server gives.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { connectGraphqlWs, until, type GraphqlWsConnection } from '../helpers/graphql-ws-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { dataOf, gql } from './graphql-fixture.js'

describe.each(await availableDialects())('GraphQL at first use on %s', (dialect) => {
  let t: TestEngine | undefined
  let ws: GraphqlWsConnection | undefined
  afterEach(async () => {
    await ws?.dispose()
    await t?.close()
    ws = undefined
    t = undefined
  })

  /** A fresh server with one public collection and `count` notes, no GraphQL asked yet. */
  const freshServer = async (count: number) => {
    const engine = await createTestEngine(dialect)
    await createCollection(engine, {
      name: 'notes',
      fields: [{ name: 'body', type: 'text', required: true }],
      rules: { list: '', view: '', create: '', update: null, delete: null },
    })
    for (let i = 0; i < count; i++) await createRecord(engine, 'notes', { body: `note ${i}` })
    return engine
  }

  it('a subscription over WebSocket as the first GraphQL contact receives the next write', async () => {
    t = await freshServer(0)
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 })
    ws = await connectGraphqlWs(`${base.replace('http', 'ws')}/graphql`, { token: t.token })
    expect(ws.accepted).toBe(true)
    const hub = t.engine.realtime?.hub
    const before = hub?.size ?? 0
    const changes = ws.subscribe('subscription { notesChanges { action record { body } } }')
    await until(() => (hub?.size ?? 0) > before || changes.errors.length > 0, 'the stream')
    expect(changes.errors).toEqual([])
    await createRecord(t, 'notes', { body: 'after the subscription' })
    await until(() => changes.values.length > 0, 'the change event')
    expect(changes.values[0]).toEqual({
      notesChanges: { action: 'CREATE', record: { body: 'after the subscription' } },
    })
  })

  it('queries arriving together before GraphQL is loaded all get the full answer', async () => {
    t = await freshServer(3)
    const engine = t
    const query = 'query { notes(sort: "body") { items { body } } }'
    const answers = await Promise.all(Array.from({ length: 5 }, () => gql(engine, query)))
    for (const answer of answers) {
      expect(dataOf(answer)).toEqual({
        notes: { items: [{ body: 'note 0' }, { body: 'note 1' }, { body: 'note 2' }] },
      })
    }
  })

  it('a batch as the first request, and a refused one, answer as on a warm server', async () => {
    t = await freshServer(2)
    const res = await t.call({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([
        { query: 'query { notes(sort: "body") { items { body } } }' },
        { query: 'query { nope }' },
      ]),
    })
    expect(res.statusCode).toBe(200)
    const [first, second] = res.json() as [
      { data: unknown },
      { errors: { extensions: { code: string } }[] },
    ]
    expect(first.data).toEqual({ notes: { items: [{ body: 'note 0' }, { body: 'note 1' }] } })
    expect(second.errors.length).toBe(1)
  })
})
