/**
 * One set of connection limits for SSE streams and GraphQL WebSockets together, over real
 * sockets with real clients (graphql-ws, an HTTP SSE reader): per user (API keys count as their
 * owner), per client address (anonymous sockets too), in total, and subscriptions per
 * connection. A refused SSE stream is a 429 problem with Retry-After; a refused WebSocket is
 * closed with 4429. The gauges count both transports, and a closed connection frees its slot.
 * The client address is `request.ip` for both: X-Forwarded-For counts only behind
 * ER_TRUST_PROXY hops.
 */
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import {
  connectGraphqlWs,
  until,
  type GraphqlWsConnection,
  type Received,
} from '../helpers/graphql-ws-client.js'
import { parsePrometheusText } from '../helpers/prometheus-text.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'
import { createTestEngine } from '../helpers/test-engine.js'

const PASSWORD = 'a long enough password'

/** An engine listening on an ephemeral port, with a user and the clients a test opened. */
async function limitedEngine(
  dialect: Parameters<typeof createTestEngine>[0],
  options: { trustProxyHops: number; realtime: Record<string, number> },
) {
  const t = await createTestEngine(dialect, {
    trustProxyHops: options.trustProxyHops,
    realtime: options.realtime,
  })
  const base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  const open = { list: '', view: '', create: '', update: '', delete: '' }
  await createCollection(t, {
    name: 'posts',
    fields: [{ name: 'title', type: 'text' }],
    rules: open,
  })
  await createCollection(t, {
    name: 'users',
    type: 'auth',
    fields: [],
    rules: { ...open, create: null, delete: null },
  })
  await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
  const login = await t.engine.auth.loginWithPassword('users', {
    identity: 'ann@example.com',
    password: PASSWORD,
  })
  if (!('token' in login)) throw new Error('no MFA here')
  const streams: SseClient[] = []
  const sockets: GraphqlWsConnection[] = []
  return {
    t,
    base,
    userToken: login.token,
    /** `GET /api/realtime?topic=…` as `token`, through a proxy that says the client is `from`. */
    async sse(token: string, from?: string, query = 'topic=posts') {
      const client = await openSse(`${base}/api/realtime?${query}`, {
        authorization: `Bearer ${token}`,
        ...(from ? { 'x-forwarded-for': from } : {}),
      })
      streams.push(client)
      return client
    },
    async ws(token: string | undefined, from?: string) {
      const socket = await connectGraphqlWs(`${base.replace('http', 'ws')}/graphql`, {
        ...(token ? { token } : {}),
        headers: from ? { 'x-forwarded-for': from } : {},
      })
      sockets.push(socket)
      return socket
    },
    /** What `/metrics` says: connections per transport, and open change streams. */
    async gauges() {
      const res = await t.call({ method: 'GET', url: '/metrics', anonymous: true })
      const { samples } = parsePrometheusText(res.body)
      const value = (name: string, transport?: string) =>
        samples.find((s) => s.name === name && s.labels.transport === transport)?.value
      return {
        sse: value('er_realtime_connections', 'sse'),
        ws: value('er_realtime_connections', 'ws'),
        subscriptions: value('er_realtime_subscriptions'),
      }
    },
    async closeAll() {
      for (const stream of streams.splice(0)) stream.close()
      await Promise.all(sockets.splice(0).map((socket) => socket.dispose()))
    },
    async close() {
      await this.closeAll()
      await t.close()
    },
  }
}
type Limited = Awaited<ReturnType<typeof limitedEngine>>

async function expect429(client: SseClient, detail: RegExp) {
  expect(client.status).toBe(429)
  expect(client.response.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(client.response.headers['retry-after']).toBe('5')
  const body = JSON.parse(await client.body()) as { code: string; detail: string }
  expect(body.code).toBe('ER_RATE_LIMITED')
  expect(body.detail).toMatch(detail)
}

function expect4429(socket: GraphqlWsConnection, reason: RegExp) {
  expect(socket.accepted).toBe(false)
  expect(socket.close?.code).toBe(4429)
  expect(socket.close?.reason).toMatch(/^Too many requests: /)
  expect(socket.close?.reason).toMatch(reason)
}

describe.each(await availableDialects())('realtime connection limits on %s', (dialect) => {
  let e: Limited
  beforeAll(async () => {
    e = await limitedEngine(dialect, {
      trustProxyHops: 1,
      realtime: {
        maxConnectionsPerUser: 10,
        maxConnectionsPerAddress: 12,
        maxConnectionsTotal: 30,
      },
    })
  })
  afterAll(async () => {
    await e.close()
  })
  const drained = async () => {
    await e.closeAll()
    await until(async () => {
      const g = await e.gauges()
      return g.sse === 0 && g.ws === 0 && g.subscriptions === 0
    }, 'every slot to be freed')
  }

  it('one user: 6 SSE streams (one by API key) and 5 WebSockets, the 11th refused', async () => {
    const res = await e.t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/api-keys',
      payload: { name: 'feed', scopes: [{ collection: 'posts', operations: ['list', 'view'] }] },
      headers: { authorization: `Bearer ${e.userToken}` },
    })
    const apiKey = (res.json() as { key: string }).key
    const from = '10.0.0.1'
    const streams = [await e.sse(apiKey, from)]
    for (let i = 0; i < 5; i++) streams.push(await e.sse(e.userToken, from))
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200])
    const sockets: GraphqlWsConnection[] = []
    for (let i = 0; i < 5; i++) sockets.push(await e.ws(e.userToken, from))
    expect(sockets.map((s) => s.accepted)).toEqual([true, true, true, true, false])
    expect4429(sockets[4] as GraphqlWsConnection, /At most 10 realtime connections per user/)
    await expect429(await e.sse(e.userToken, from), /At most 10 realtime connections per user/)
    await expect429(await e.sse(apiKey, '10.0.0.99'), /per user/)
    // The refused socket holds its address's slot only until its close completes.
    await until(async () => {
      const g = await e.gauges()
      return g.sse === 6 && g.ws === 4
    }, 'six streams and four sockets')
    // Another user from the same address is not this user.
    expect((await e.sse(e.t.token, from)).status).toBe(200)

    // A closed connection frees its slot, whichever transport takes it next.
    streams[0]?.close()
    await until(async () => (await e.gauges()).sse === 6, 'the closed stream to be counted out')
    expect((await e.ws(e.userToken, from)).accepted).toBe(true)
    await sockets[0]?.dispose()
    await until(async () => (await e.gauges()).ws === 4, 'the closed socket to be counted out')
    expect((await e.sse(e.userToken, from)).status).toBe(200)
    await drained()
  })

  it('anonymous sockets: capped per client address, as the trusted proxy names it', async () => {
    const sockets: GraphqlWsConnection[] = []
    for (let i = 0; i < 12; i++) sockets.push(await e.ws(undefined, '10.0.0.2'))
    expect(sockets.every((s) => s.accepted)).toBe(true)
    expect4429(await e.ws(undefined, '10.0.0.2'), /At most 12 realtime connections per client/)
    // The same address over HTTP: the SSE route's request.ip is the WebSocket's address.
    await expect429(await e.sse(e.userToken, '10.0.0.2'), /per client address/)
    // Only the entry the trusted hop added counts; what the client wrote before it does not.
    expect4429(await e.ws(undefined, '10.7.7.7, 10.0.0.2'), /per client address/)
    await expect429(await e.sse(e.userToken, '10.7.7.7, 10.0.0.2'), /per client address/)
    expect((await e.ws(undefined, '10.0.0.2, 10.0.0.3')).accepted).toBe(true)
    expect(await e.gauges()).toMatchObject({ sse: 0, ws: 13 })

    await sockets[0]?.dispose()
    await until(async () => (await e.gauges()).ws === 12, 'the closed socket to be counted out')
    expect((await e.ws(undefined, '10.0.0.2')).accepted).toBe(true)
    await drained()
  })

  it('in total: past ER_REALTIME_MAX_TOTAL the process refuses anyone', async () => {
    for (let i = 0; i < 25; i++) expect((await e.ws(undefined, `10.1.0.${i}`)).accepted).toBe(true)
    for (let i = 0; i < 5; i++) expect((await e.sse(e.t.token, `10.2.0.${i}`)).status).toBe(200)
    expect(await e.gauges()).toMatchObject({ sse: 5, ws: 25 })
    expect4429(await e.ws(undefined, '10.3.0.1'), /maximum of 30 realtime connections/)
    await expect429(await e.sse(e.userToken, '10.3.0.1'), /maximum of 30 realtime connections/)
    await drained()
    expect((await e.ws(undefined, '10.3.0.1')).accepted).toBe(true)
    await drained()
  })

  it('a burst of concurrent connects lets exactly the per-user number through', async () => {
    const streams = await Promise.all(
      Array.from({ length: 25 }, (_, i) => e.sse(e.userToken, `10.4.0.${i}`)),
    )
    const statuses = streams.map((s) => s.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(10)
    expect(statuses.filter((s) => s === 429)).toHaveLength(15)
    await drained()
    const sockets = await Promise.all(
      Array.from({ length: 15 }, (_, i) => e.ws(e.t.token, `10.5.0.${i}`)),
    )
    expect(sockets.filter((s) => s.accepted)).toHaveLength(10)
    expect(sockets.filter((s) => s.close?.code === 4429)).toHaveLength(5)
    // A refused socket counts (for its address) only until its close completes.
    await until(async () => (await e.gauges()).ws === 10, 'the refused sockets to close')
    await drained()
  })

  it('clients that vanish during the handshake leave no slot behind', async () => {
    const url = new URL(e.base)
    const vanishing: Promise<void>[] = []
    for (let i = 0; i < 20; i++) {
      // An SSE request dropped at once, or after the response began.
      vanishing.push(
        new Promise<void>((resolve) => {
          const req = request(`${e.base}/api/realtime?topic=posts`, {
            headers: { authorization: `Bearer ${e.t.token}`, 'x-forwarded-for': `10.8.0.${i}` },
          })
          req.on('error', () => resolve())
          req.on('close', () => resolve())
          req.on('response', (res) => res.destroy())
          req.end()
          if (i % 2 === 0) setTimeout(() => req.destroy(), i / 2)
        }),
      )
      // A WebSocket upgrade whose TCP connection closes before or just after the handshake.
      vanishing.push(
        new Promise<void>((resolve) => {
          const socket = connect(Number(url.port), url.hostname, () => {
            socket.write(
              'GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
                'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
                `Sec-WebSocket-Protocol: graphql-transport-ws\r\nX-Forwarded-For: 10.8.1.${i}\r\n\r\n`,
            )
            if (i % 2 === 0) socket.destroy()
            else socket.once('data', () => socket.destroy())
          })
          socket.on('close', () => resolve())
          socket.on('error', () => resolve())
        }),
      )
    }
    await Promise.all(vanishing)
    await until(async () => {
      const g = await e.gauges()
      return g.sse === 0 && g.ws === 0 && g.subscriptions === 0
    }, 'every slot to be freed')
  })

  it('subscriptions per connection: 20 at once run, the 21st is refused, 20 topics, not 21', async () => {
    const socket = await e.ws(e.userToken, '10.6.0.1')
    const query = 'subscription { postsChanges { action } }'
    const running: Received[] = []
    for (let i = 0; i < 20; i++) running.push(socket.subscribe(query))
    await until(async () => (await e.gauges()).subscriptions === 20, '20 subscriptions')
    const refused = socket.subscribe(query)
    await until(() => refused.errors.length > 0, 'the 21st to be refused')
    expect(refused.errors[0]?.extensions?.code).toBe('ER_RATE_LIMITED')
    expect(refused.errors[0]?.message).toBe('At most 20 operations at once on one connection.')
    expect(running.every((r) => r.errors.length === 0)).toBe(true)
    // One ends: there is room for one more, not two.
    running[0]?.stop()
    await until(async () => (await e.gauges()).subscriptions === 19, 'the stopped one to end')
    const next = socket.subscribe(query)
    await until(async () => (await e.gauges()).subscriptions === 20, 'the next one to run')
    const over = socket.subscribe(query)
    await until(() => over.errors.length > 0, 'the one over to be refused')
    expect(next.errors).toEqual([])
    expect(over.errors[0]?.extensions?.code).toBe('ER_RATE_LIMITED')
    const create = await createRecord(e.t, 'posts', { title: 'seen by all 20' })
    expect(create.id).toBeDefined()
    await until(
      () => [...running.slice(1), next].every((r) => r.values.length === 1),
      'all 20 to receive the change',
    )

    const topics = (n: number) =>
      Array.from({ length: n }, (_, i) => `topic=posts/p${String(i).padStart(2, '0')}`).join('&')
    expect((await e.sse(e.userToken, '10.6.0.2', topics(20))).status).toBe(200)
    const tooMany = await e.sse(e.userToken, '10.6.0.2', topics(21))
    expect(tooMany.status).toBe(400)
    expect(JSON.parse(await tooMany.body())).toMatchObject({
      code: 'ER_VALIDATION_FAILED',
      errors: { topic: [{ code: 'max' }] },
    })
    await drained()
  })
})

describe.each(await availableDialects())(
  'realtime client address without a proxy on %s',
  (dialect) => {
    let e: Limited
    beforeAll(async () => {
      e = await limitedEngine(dialect, {
        trustProxyHops: 0,
        realtime: { maxConnectionsPerAddress: 3 },
      })
    })
    afterAll(async () => {
      await e.close()
    })

    it('ignores X-Forwarded-For: every client is its socket’s address, on SSE and WebSocket', async () => {
      expect((await e.ws(undefined, '10.9.0.1')).accepted).toBe(true)
      expect((await e.ws(e.userToken, '10.9.0.2')).accepted).toBe(true)
      expect((await e.sse(e.userToken, '10.9.0.3')).status).toBe(200)
      expect4429(await e.ws(undefined, '10.9.0.4'), /At most 3 realtime connections per client/)
      await expect429(await e.sse(e.t.token, '10.9.0.5'), /per client address/)
      expect(await e.gauges()).toMatchObject({ sse: 1, ws: 2 })
    })
  },
)
