/**
 * `/readyz` follows its dependencies: it turns 503 naming PostgreSQL or Redis when a proxy in
 * front of them is cut, and 200 again once it is restored. `/healthz` stays 200 throughout.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { openRedis } from '../../src/adapters/redis/redis-client.js'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine } from '../../src/services/create-engine.js'
import { expectProblem } from '../helpers/api-assertions.js'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'
import { createTestEngine, testPasswords } from '../helpers/test-engine.js'
import { eventually, startTcpProxy } from '../helpers/tcp-proxy.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function readyStatus(app: FastifyInstance): Promise<number> {
  return (await app.inject({ method: 'GET', url: '/readyz' })).statusCode
}

describe.each(await availableDialects())('readiness on %s', (dialect) => {
  it('is ready with store and migrations checked', async () => {
    const t = await createTestEngine(dialect)
    cleanups.push(() => t.close())
    const res = await t.call({ method: 'GET', url: '/readyz', anonymous: true })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: [
        { name: 'store', ok: true },
        { name: 'migrations', ok: true },
      ],
    })
  })

  it('flips to 503 naming redis while Redis is unreachable, and back', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 })
    cleanups.push(() => proxy.close())
    const redis = openRedis(`redis://127.0.0.1:${proxy.port}`)
    cleanups.push(async () => redis.disconnect())
    const t = await createTestEngine(dialect, {
      readinessChecks: [{ name: 'redis', check: async () => void (await redis.ping()) }],
    })
    cleanups.push(() => t.close())
    await eventually(async () => (await readyStatus(t.app)) === 200, 10_000, 'ready')

    proxy.cut()
    await eventually(async () => (await readyStatus(t.app)) === 503, 10_000, 'not ready')
    const res = await t.call({ method: 'GET', url: '/readyz', anonymous: true })
    const problem = expectProblem(res, 503, 'ER_UNAVAILABLE')
    expect(problem.detail).toBe('Not ready: redis failing.')
    expect(res.headers['retry-after']).toBe('5')
    expect((await t.call({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    proxy.restore()
    await eventually(async () => (await readyStatus(t.app)) === 200, 15_000, 'ready again')
  })
})

describe.runIf((await availableDialects()).includes('postgres'))('readiness on PostgreSQL', () => {
  it('flips to 503 naming the store while PostgreSQL is unreachable, and back', async () => {
    const schema = await createPostgresSchema()
    cleanups.push(() => schema.drop())
    const target = new URL(schema.url)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
    cleanups.push(() => proxy.close())
    target.port = String(proxy.port)
    const store = await openPostgresStore({
      url: target.toString(),
      maxConnections: 2,
      connectTimeoutMs: 1000,
    })
    const dir = mkdtempSync(join(tmpdir(), 'er-ready-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    const engine = await createEngine({
      store,
      migrationsDir: join(dir, 'migrations'),
      passwords: testPasswords,
    })
    cleanups.push(() => engine.close())
    const app = await buildServer(engine)
    cleanups.push(() => app.close())
    expect(await readyStatus(app)).toBe(200)

    proxy.cut()
    await eventually(async () => (await readyStatus(app)) === 503, 10_000, 'not ready')
    const res = await app.inject({ method: 'GET', url: '/readyz' })
    expect(expectProblem(res, 503, 'ER_UNAVAILABLE').detail).toMatch(/^Not ready: store/)
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

    proxy.restore()
    await eventually(async () => (await readyStatus(app)) === 200, 15_000, 'ready again')
  })
})
