/**
 * The realtime limits and ER_TRUST_PROXY as an operator sets them, on `engineroom serve` as a
 * real process: GraphQL WebSockets are counted per client address, and that address is the
 * X-Forwarded-For entry of the trusted hop only when ER_TRUST_PROXY says so.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'
import { connectGraphqlWs, type GraphqlWsConnection } from '../helpers/graphql-ws-client.js'
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'

/** A test that starts `serve` from source may wait up to the helper's 60 s for it. */
const STARTS_A_SERVER = 120_000
const servers: ServerProcess[] = []
const sockets: GraphqlWsConnection[] = []
const cleanups: (() => Promise<void> | void)[] = []
const streams: SseClient[] = []

afterAll(async () => {
  for (const stream of streams) stream.close()
  for (const socket of sockets) await socket.dispose()
  for (const server of servers) await server.stop('SIGKILL')
  for (const cleanup of cleanups) await cleanup()
})

describe.each(await availableDialects())('realtime limit settings on %s', (dialect) => {
  const serve = async (env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'er-rt-limits-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const database: Record<string, string> = {}
    if (dialect === 'postgres') {
      const schema = await createPostgresSchema()
      cleanups.push(() => schema.drop())
      database.DATABASE_URL = schema.url
    }
    const server = await startServerProcess(['--dir', dir], { ...database, ...env })
    servers.push(server)
    return `${server.url.replace('http', 'ws')}/graphql`
  }
  const post = async (url: string, body: object, token?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const anonymous = async (url: string, forwardedFor: string) => {
    const socket = await connectGraphqlWs(url, { headers: { 'x-forwarded-for': forwardedFor } })
    sockets.push(socket)
    return socket
  }

  it(
    'ER_TRUST_PROXY=1: each forwarded client has its own ER_REALTIME_MAX_PER_ADDRESS',
    async () => {
      const url = await serve({ ER_TRUST_PROXY: '1', ER_REALTIME_MAX_PER_ADDRESS: '2' })
      const first = [await anonymous(url, '10.0.0.1'), await anonymous(url, '10.0.0.1')]
      expect(first.map((s) => s.accepted)).toEqual([true, true])
      const third = await anonymous(url, '10.0.0.1')
      expect(third.close?.code).toBe(4429)
      expect(third.close?.reason).toMatch(/^Too many requests: At most 2 .* per client address/)
      expect((await anonymous(url, '10.0.0.2')).accepted).toBe(true)
    },
    STARTS_A_SERVER,
  )

  it(
    'without ER_TRUST_PROXY: X-Forwarded-For is ignored, every client is the socket',
    async () => {
      const url = await serve({ ER_REALTIME_MAX_PER_ADDRESS: '2' })
      expect((await anonymous(url, '10.0.0.1')).accepted).toBe(true)
      expect((await anonymous(url, '10.0.0.2')).accepted).toBe(true)
      expect((await anonymous(url, '10.0.0.3')).close?.code).toBe(4429)
    },
    STARTS_A_SERVER,
  )

  it(
    'ER_REALTIME_TICKET_RECONNECT_SECONDS=0: a ticket opens its stream once, and no reconnect',
    async () => {
      const base = (
        await serve({
          ER_REALTIME_TICKET_RECONNECT_SECONDS: '0',
          // The machine running the suite may be busy; load shedding is not under test here.
          ER_SHED_EVENT_LOOP_DELAY: '0',
        })
      ).replace(/^ws(.*)\/graphql$/, 'http$1')
      // The default `users` collection of a fresh database: sign-up open, each sees itself.
      const user = { email: 'ann@example.com', password: 'a long password' }
      const created = await post(`${base}/api/collections/users/records`, user)
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      const session = await post(`${base}/api/collections/users/auth/password`, {
        identity: user.email,
        password: user.password,
      })
      const token = session.body.token as string
      const ticket = (await post(`${base}/api/realtime/ticket`, {}, token)).body.ticket as string
      const url = `${base}/api/realtime?topic=users/${created.body.id as string}&ticket=${ticket}`
      const first = await openSse(url)
      streams.push(first)
      expect(first.status).toBe(200)
      first.close()
      // The same ticket and stream, as a browser's EventSource would reconnect: refused.
      const again = await openSse(url)
      streams.push(again)
      expect(again.status).toBe(401)
    },
    STARTS_A_SERVER,
  )
})

describe('realtime ticket reconnect setting refused when out of bounds', () => {
  it.each(['86401', '-5', 'ten'])('ER_REALTIME_TICKET_RECONNECT_SECONDS=%s', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'er-rt-ticket-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const run = runCli(['serve', '--dir', dir, '--http', '127.0.0.1:0'], {
      ER_REALTIME_TICKET_RECONNECT_SECONDS: value,
    })
    expect(run.code).not.toBe(0)
    expect(run.err).toContain(
      `ER_REALTIME_TICKET_RECONNECT_SECONDS: expected a whole number from 0 to 86400, got "${value}"`,
    )
  })
})
