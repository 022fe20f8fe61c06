/**
 * An API key reads over realtime only what its scopes let it read over REST: on the SSE feed,
 * through a ticket the key minted, and in GraphQL subscriptions over WebSocket. One record's
 * topic needs the `view` scope, a whole collection's `view` and `list`; anything else is the 403
 * problem REST answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { connectGraphqlWs, until, type GraphqlWsConnection } from '../helpers/graphql-ws-client.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const PASSWORD = 'a long enough password'

describe.each(await availableDialects())('API-key scopes on realtime, %s', (dialect) => {
  let t: TestEngine
  let base: string
  let userToken: string
  /** Scoped to `notes`/`view` only, as in the report. */
  let viewKey: string
  /** Scoped to `notes`/`list` only. */
  let listKey: string
  /** Scoped to `notes`/`list` and `view`. */
  let readKey: string
  let noteId: string
  const sockets: GraphqlWsConnection[] = []
  const streams: SseClient[] = []

  const newKey = async (scopes: object[]) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/api-keys',
      payload: { name: 'feed', scopes },
      headers: { authorization: `Bearer ${userToken}` },
    })
    expect(res.statusCode, res.body).toBe(201)
    return (res.json() as { key: string }).key
  }
  const sse = async (query: string, headers: Record<string, string> = {}) => {
    const client = await openSse(`${base}/api/realtime?${query}`, headers)
    streams.push(client)
    return client
  }
  const refusedWith403 = async (client: SseClient) => {
    expect(client.status).toBe(403)
    expect(client.response.headers['content-type']).toMatch(/^application\/problem\+json/)
    const body = JSON.parse(await client.body()) as { code: string; detail: string }
    expect(body.code).toBe('ER_FORBIDDEN')
    return body
  }
  const ticket = async (key: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/realtime/ticket',
      headers: { authorization: `Bearer ${key}` },
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { ticket: string }).ticket
  }
  const touchNote = async () => {
    const res = await t.call({
      method: 'PATCH',
      url: `/api/collections/notes/records/${noteId}`,
      payload: { text: `at ${Date.now()}` },
    })
    expect(res.statusCode, res.body).toBe(200)
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const open = { list: '', view: '', create: '', update: '', delete: '' }
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: { ...open, create: null, delete: null },
    })
    for (const name of ['notes', 'posts']) {
      await createCollection(t, { name, fields: [{ name: 'text', type: 'text' }], rules: open })
    }
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
    noteId = String((await createRecord(t, 'notes', { text: 'first' })).id)
    const login = await t.engine.auth.loginWithPassword('users', {
      identity: 'ann@example.com',
      password: PASSWORD,
    })
    if (!('token' in login)) throw new Error('no MFA here')
    userToken = login.token
    viewKey = await newKey([{ collection: 'notes', operations: ['view'] }])
    listKey = await newKey([{ collection: 'notes', operations: ['list'] }])
    readKey = await newKey([{ collection: 'notes', operations: ['list', 'view'] }])
  })
  afterAll(async () => {
    for (const stream of streams) stream.close()
    for (const socket of sockets) await socket.dispose()
    await t.close()
  })

  it('SSE: a key opens only the topics its scopes name, with REST’s 403 otherwise', async () => {
    const auth = (key: string) => ({ authorization: `Bearer ${key}` })
    // The report's request: a notes/view key asking for users and posts.
    const body = await refusedWith403(await sse('topic=users&topic=posts', auth(viewKey)))
    expect(body.detail).toMatch(/users/)
    // Each change is read as a view; a whole collection's feed is a list as well.
    await refusedWith403(await sse('topic=notes', auth(viewKey)))
    await refusedWith403(await sse('topic=notes', auth(listKey)))
    await refusedWith403(await sse(`topic=notes/${noteId}`, auth(listKey)))
    await refusedWith403(await sse(`topic=notes&topic=posts`, auth(readKey)))
    // The user's own session is not narrowed: the same topics open.
    expect((await sse('topic=users&topic=posts', auth(userToken))).status).toBe(200)

    const one = await sse(`topic=notes/${noteId}`, auth(viewKey))
    const all = await sse('topic=notes', auth(readKey))
    expect([one.status, all.status]).toEqual([200, 200])
    await one.waitFor((events) => events.length === 0 && one.comments > 0)
    await touchNote()
    for (const stream of [one, all]) {
      const [event] = await stream.waitFor((events) => events.length === 1)
      expect(JSON.parse(event?.data ?? '{}')).toMatchObject({ collection: 'notes' })
    }
  })

  it('tickets: one minted with a key carries its scopes', async () => {
    await refusedWith403(await sse(`topic=users&ticket=${await ticket(viewKey)}`))
    await refusedWith403(await sse(`topic=notes&ticket=${await ticket(viewKey)}`))
    const ok = await sse(`topic=notes/${noteId}&ticket=${await ticket(viewKey)}`)
    expect(ok.status).toBe(200)
    // A user's ticket is the user's reach.
    expect((await sse(`topic=users&ticket=${await ticket(userToken)}`)).status).toBe(200)
  })

  it('GraphQL over WebSocket: out-of-scope subscriptions are refused', async () => {
    const url = `${base.replace('http', 'ws')}/graphql`
    const viewing = await connectGraphqlWs(url, { token: viewKey })
    const listing = await connectGraphqlWs(url, { token: listKey })
    const reading = await connectGraphqlWs(url, { token: readKey })
    sockets.push(viewing, listing, reading)
    expect([viewing.accepted, listing.accepted, reading.accepted]).toEqual([true, true, true])
    const hub = () => t.engine.realtime?.hub.size ?? 0
    const before = hub()
    const all = 'subscription { notesChanges { action } }'
    const byId = 'subscription ($id: ID) { notesChanges(id: $id) { action } }'
    // Collections out of every scope are not even in the key's schema; without `view` on
    // notes a key has no subscription at all.
    const users = viewing.subscribe('subscription { usersChanges { action } }')
    const noneForList = listing.subscribe(byId, { id: noteId })
    // In the schema, but a whole collection needs `list` too: refused as REST refuses it.
    const allByView = viewing.subscribe(all)
    const outOfScope = reading.subscribe('subscription { postsChanges { action } }')
    const note = viewing.subscribe(byId, { id: noteId })
    const notes = reading.subscribe(all)
    const refused = [users, noneForList, allByView, outOfScope]
    await until(
      () => refused.every((r) => r.errors.length > 0) && hub() === before + 2,
      'refusals and the two allowed streams',
    )
    expect(users.errors[0]?.message).toMatch(/Cannot query field "usersChanges"/)
    expect(outOfScope.errors[0]?.message).toMatch(/Cannot query field "postsChanges"/)
    expect(noneForList.errors[0]?.message).toMatch(/not configured to execute subscription/)
    for (const absent of [users, outOfScope, noneForList]) {
      expect(absent.errors[0]?.extensions?.code).toBe('ER_GRAPHQL_INVALID')
    }
    expect(allByView.errors[0]?.extensions?.code).toBe('ER_FORBIDDEN')
    expect(allByView.errors[0]?.message).toMatch(/may not list records of "notes"/)
    for (const r of refused) expect(r.values).toEqual([])
    expect([note.errors, notes.errors]).toEqual([[], []])
    await touchNote()
    await until(() => note.values.length === 1 && notes.values.length === 1, 'the note change')
    expect(note.values[0]).toEqual({ notesChanges: { action: 'UPDATE' } })
    expect(notes.values[0]).toEqual({ notesChanges: { action: 'UPDATE' } })
  })
})
