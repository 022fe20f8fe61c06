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
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

/** A test that starts `serve` from source may wait up to the helper's 60 s for it. */
const STARTS_A_SERVER = 120_000
const servers: ServerProcess[] = []
const sockets: GraphqlWsConnection[] = []
const cleanups: (() => Promise<void> | void)[] = []

afterAll(async () => {
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
})
