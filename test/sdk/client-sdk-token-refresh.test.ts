/**
 * `@engineroom/client` keeping a short-lived session alive against a real server, on both
 * dialects: requests refresh the token shortly before it expires, concurrent ones sharing one
 * refresh (a second use of the spent refresh token would end the session); a realtime stream
 * that the server ends when the token expires, or that loses its socket, renews and resumes
 * from its last event id with nothing lost or repeated.
 */
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { refreshDueAt } from '../../packages/client/src/auth.js'
import { createClient, type Client, type RealtimeEvent } from '../../packages/client/src/index.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { superuserContext } from '../../src/services/create-engine.js'

const TOKEN_SECONDS = 4

async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe.each(await availableDialects())('SDK session renewal on %s', (dialect) => {
  let t: TestEngine
  let url: string
  const refreshes: number[] = []
  const realtimeRequests: { lastEventId: string | null; socket?: Socket }[] = []
  let client: Client

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      engine: { tokenTtlSeconds: TOKEN_SECONDS },
      // Streams re-check their session often, so an expired token ends one quickly.
      realtime: { reauthMs: 250 },
    })
    await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: { create: '' } })
    await createCollection(t, {
      name: 'notes',
      fields: [{ name: 'text', type: 'text' }],
      rules: { list: '@request.auth.id != ""', view: '@request.auth.id != ""' },
    })
    await createRecord(t, 'users', { email: 'ann@example.com', password: 'a long password' })
    url = await t.app.listen({ host: '127.0.0.1', port: 0 })
    t.app.server.on('request', (request) => {
      if (request.url?.startsWith('/api/realtime?')) {
        const header = request.headers['last-event-id']
        const lastEventId = typeof header === 'string' ? header : null
        realtimeRequests.push({ lastEventId, socket: request.socket })
      }
    })
    client = createClient({
      url,
      fetch: (input, init) => {
        if (String(input).endsWith('/auth/refresh')) refreshes.push(Date.now())
        return fetch(input, init)
      },
    })
  })
  afterAll(async () => {
    await t?.close()
  })

  const signIn = async () => {
    const session = await client.auth.signInWithPassword(
      'users',
      'ann@example.com',
      'a long password',
    )
    if (!('token' in session)) throw new Error('MFA is on for the test user')
    return session
  }
  const waitUntilDue = async (token: string) => {
    const due = refreshDueAt(token)
    expect(due).toBeDefined()
    await until(() => Date.now() / 1000 >= (due as number), 'the token to be due')
  }

  it('refreshes once for concurrent requests shortly before expiry, and stays signed in', async () => {
    const first = await signIn()
    // Not due yet: no refresh.
    await client.collection('notes').list()
    expect(refreshes).toHaveLength(0)
    await waitUntilDue(first.token)
    const pages = await Promise.all(
      Array.from({ length: 6 }, () => client.collection('notes').list()),
    )
    expect(pages.every((page) => Array.isArray(page.items))).toBe(true)
    expect(refreshes).toHaveLength(1)
    expect(client.auth.token).not.toBe(first.token)
    // The session survived: its new refresh token works (a spent one would have revoked it).
    await waitUntilDue(client.auth.token as string)
    await client.collection('notes').list()
    expect(refreshes).toHaveLength(2)
    const explicit = await Promise.all([client.auth.refresh(), client.auth.refresh()])
    expect(explicit[0].token).toBe(explicit[1].token)
    expect(refreshes).toHaveLength(3)
  }, 60_000)

  it('resumes realtime after the token expires and after a dropped socket, losing nothing', async () => {
    await signIn()
    const before = refreshes.length
    const seen: RealtimeEvent[] = []
    const errors: unknown[] = []
    const subscription = client.realtime.subscribe({
      topics: ['notes'],
      retryMs: 100,
      onEvent: (event) => seen.push(event),
      onError: (error) => errors.push(error),
    })
    await subscription.ready
    const written: string[] = []
    // Written by the engine itself: the test superuser's token expires as fast as ann's.
    const write = async () =>
      written.push(
        String(
          (await t.engine.records.create(superuserContext(t.engine), 'notes', { text: 'x' })).id,
        ),
      )
    await write()
    await until(() => seen.length === 1, 'the first event')

    // The server ends the stream once the token expires; the SDK renews and resumes.
    const opened = realtimeRequests.length
    await until(() => realtimeRequests.length > opened, 'a reconnect after expiry', 30_000)
    await write()
    await until(() => seen.length === 2, 'the event after renewal')
    expect(refreshes.length).toBeGreaterThan(before)

    // A socket lost mid-stream: a change commits while the client is away.
    const beforeDrop = realtimeRequests.length
    realtimeRequests.at(-1)?.socket?.destroy()
    await write()
    await until(() => realtimeRequests.length > beforeDrop, 'a reconnect after the drop')
    await write()
    await until(() => seen.length === 4, 'every event')

    subscription.close()
    expect(seen.map((e) => e.record.id)).toEqual(written)
    expect(errors.filter((e) => JSON.stringify(e).includes('unauthorized'))).toEqual([])
    // Every reconnect resumed from the last event the client had.
    for (const request of realtimeRequests.slice(opened)) {
      expect(request.lastEventId).toMatch(/^\d+$/)
    }
  }, 60_000)
})
