/**
 * The per-user realtime connection cap holds across nodes: two engines on one database share
 * their per-user slots through Redis (leases with a short lifetime here). Streams opened on
 * either node count against one cap; a closed stream frees its slot for the other node; a node
 * that dies without closing anything (its Redis connection cut, so it neither renews nor gives
 * back) holds its slots only until their leases lapse.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { openRedis } from '../../src/adapters/redis/redis-client.js'
import { createRedisConnectionLeases } from '../../src/adapters/redis/redis-connection-leases.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const CAP = 3
const LEASE_MS = 1500
const PASSWORD = 'a long enough password'

describe.each(await availableDialects())(
  'a per-user connection cap across nodes on %s',
  (dialect) => {
    const prefix = `er-test-${randomBytes(6).toString('hex')}:`
    const bus = createInProcessBus()
    let a: TestEngine
    let b: { engine: Engine; app: FastifyInstance }
    const redis: Redis[] = []
    const leases: ReturnType<typeof createRedisConnectionLeases>[] = []
    const base: { a: string; b: string } = { a: '', b: '' }
    const streams: SseClient[] = []
    let token = ''

    const share = (engine: Engine) => {
      const client = openRedis('redis://127.0.0.1:6379')
      redis.push(client)
      const shared = createRedisConnectionLeases({ redis: client, prefix, leaseMs: LEASE_MS })
      leases.push(shared)
      engine.realtime?.connections.share(shared)
      return client
    }
    const stream = async (node: 'a' | 'b') => {
      const client = await openSse(`${base[node]}/api/realtime?topic=posts`, {
        authorization: `Bearer ${token}`,
      })
      streams.push(client)
      return client
    }
    /** Retries until the node accepts (a slot is freed asynchronously) or the time is up. */
    const streamWhenFree = async (node: 'a' | 'b', withinMs: number) => {
      const until = Date.now() + withinMs
      for (;;) {
        const client = await stream(node)
        if (client.status === 200 || Date.now() > until) return client
        client.close()
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }

    beforeAll(async () => {
      const realtime = { maxConnectionsPerUser: CAP, dispatchPollMs: 200 }
      a = await createTestEngine(dialect, { bus, realtime })
      const engine = await createEngine({
        store: await a.openAnotherStore(),
        migrationsDir: `${a.dir}/migrations-b`,
        passwords: testPasswords,
        schemaRecheckMs: 0,
        bus,
        realtime,
      })
      b = { engine, app: await buildServer(engine, {}) }
      share(a.engine)
      share(b.engine)
      base.a = await a.app.listen({ host: '127.0.0.1', port: 0 })
      base.b = await b.app.listen({ host: '127.0.0.1', port: 0 })
      await createCollection(a, {
        name: 'posts',
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '' },
      })
      await createCollection(a, { name: 'users', type: 'auth', fields: [] })
      await createRecord(a, 'users', { email: 'ann@example.com', password: PASSWORD })
      const login = await a.engine.auth.loginWithPassword('users', {
        identity: 'ann@example.com',
        password: PASSWORD,
      })
      if (!('token' in login)) throw new Error('no MFA here')
      token = login.token
    })
    afterAll(async () => {
      for (const client of streams) client.close()
      await b.app.close()
      await b.engine.close()
      await a.close()
      for (const shared of leases) await shared.close()
      for (const client of redis) client.disconnect()
      await bus.close()
    })

    it('counts streams on both nodes against one cap, and a closed one frees a slot anywhere', async () => {
      const first = await stream('a')
      const second = await stream('a')
      const third = await stream('b')
      expect([first.status, second.status, third.status]).toEqual([200, 200, 200])
      // Each node holds fewer than the cap itself: only the shared count refuses these.
      for (const node of ['a', 'b'] as const) {
        const refused = await stream(node)
        expect(refused.status).toBe(429)
        const problem = JSON.parse(await refused.body()) as { code: string; detail: string }
        expect(problem.code).toBe('ER_RATE_LIMITED')
        expect(problem.detail).toMatch(/At most 3 realtime connections per user/)
      }
      expect(a.engine.realtime?.connections.count()).toBe(2)
      expect(b.engine.realtime?.connections.count()).toBe(1)
      first.close()
      const onB = await streamWhenFree('b', 5000)
      expect(onB.status).toBe(200)
      expect((await stream('a')).status).toBe(429)
      expect(leases.map((l) => l.held())).toEqual([1, 2])
    })

    it('a node that dies holds its slots only until their leases lapse', async () => {
      // B is cut off from Redis without a word: no renewal, no release (as a kill -9 would).
      redis[1]!.disconnect()
      const diedAt = Date.now()
      // A holds 1, B's 2 leases are still live for a moment: A may not open a second yet...
      const early = await stream('a')
      if (Date.now() - diedAt < LEASE_MS - 300) expect(early.status).toBe(429)
      else early.close()
      // ...and once they lapse, A gets the whole cap back, never more.
      const opened = [await streamWhenFree('a', LEASE_MS * 4), await streamWhenFree('a', 2000)]
      expect(opened.map((s) => s.status)).toEqual([200, 200])
      expect(Date.now() - diedAt).toBeGreaterThanOrEqual(LEASE_MS - 100)
      expect((await stream('a')).status).toBe(429)
    })
  },
)
