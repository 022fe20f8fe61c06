/**
 * Realtime obeys view rules per subscriber: under an owner rule each user receives only the
 * changes of their own records, another user nothing of them, a superuser everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const data = (e: SseEvent) =>
  JSON.parse(e.data) as { action: string; record: Record<string, unknown> }

describe.each(await availableDialects())('realtime under an owner rule on %s', (dialect) => {
  let t: TestEngine
  let base: string
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}
  const clients: SseClient[] = []

  async function signIn(email: string): Promise<void> {
    const user = await createRecord(t, 'users', { email, password: 'a long password' })
    ids[email] = user.id as string
    const login = await t.engine.auth.loginWithPassword('users', {
      identity: email,
      password: 'a long password',
    })
    if (!('token' in login)) throw new Error('MFA is on')
    tokens[email] = login.token
  }

  async function as(email: string, method: 'POST' | 'PATCH', url: string, payload: object) {
    const res = await t.app.inject({
      method,
      url,
      payload,
      headers: { authorization: `Bearer ${tokens[email]}` },
    })
    expect(res.statusCode, res.body).toBeLessThan(300)
    return res.json() as Record<string, unknown>
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await signIn('ann@example.com')
    await signIn('bob@example.com')
    const owner = 'owner = @request.auth.id'
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'text', type: 'text', required: true },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: {
        list: owner,
        view: owner,
        create: '@request.body.owner = @request.auth.id',
        update: owner,
        delete: owner,
      },
    })
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  })

  afterAll(async () => {
    for (const client of clients) client.close()
    await t?.close()
  })

  it('delivers each change only to those who may view the record', async () => {
    const open = async (token: string) => {
      const client = await openSse(`${base}/api/realtime?topic=notes`, {
        authorization: `Bearer ${token}`,
      })
      expect(client.status).toBe(200)
      clients.push(client)
      return client
    }
    const ann = await open(tokens['ann@example.com'] as string)
    const bob = await open(tokens['bob@example.com'] as string)
    const root = await open(t.token)

    const annNote = await as('ann@example.com', 'POST', '/api/collections/notes/records', {
      text: 'ann 1',
      owner: ids['ann@example.com'],
    })
    const bobNote = await as('bob@example.com', 'POST', '/api/collections/notes/records', {
      text: 'bob 1',
      owner: ids['bob@example.com'],
    })
    await as('ann@example.com', 'PATCH', `/api/collections/notes/records/${annNote.id as string}`, {
      text: 'ann 2',
    })
    // A marker write the superuser sees last: everything before it has been delivered.
    await as('bob@example.com', 'PATCH', `/api/collections/notes/records/${bobNote.id as string}`, {
      text: 'bob 2',
    })

    // The delete is judged on the record as it was: its owner receives it, nobody else does.
    const gone = await t.app.inject({
      method: 'DELETE',
      url: `/api/collections/notes/records/${annNote.id as string}`,
      headers: { authorization: `Bearer ${tokens['ann@example.com']}` },
    })
    expect(gone.statusCode).toBe(204)
    await as('bob@example.com', 'PATCH', `/api/collections/notes/records/${bobNote.id as string}`, {
      text: 'bob 3',
    })

    const seen = (events: SseEvent[]) =>
      events.map((e) => `${e.event} ${String(data(e).record.text)}`)
    const all = await root.waitFor((e) => e.length >= 6)
    expect(seen(all)).toEqual([
      'create ann 1',
      'create bob 1',
      'update ann 2',
      'update bob 2',
      'delete ann 2',
      'update bob 3',
    ])
    const bobSaw = await bob.waitFor((e) => e.length >= 3)
    const annSaw = await ann.waitFor((e) => e.length >= 3)
    expect(seen(annSaw)).toEqual(['create ann 1', 'update ann 2', 'delete ann 2'])
    expect(seen(bobSaw)).toEqual(['create bob 1', 'update bob 2', 'update bob 3'])
  })
})
