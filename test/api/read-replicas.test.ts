/**
 * Read replicas (`DATABASE_REPLICA_URLS`): REST record lists and gets by ordinary callers run on
 * a replica; a superuser's, and a caller's who just wrote, run on the primary (read-your-writes),
 * on this node and, with Redis, on every node. Here the "replica" is the same PostgreSQL
 * database reached through its own pool (application_name `er-replica-…`), so routing is proved
 * by the counters and by the replica's own sessions in pg_stat_activity. (A second database kept
 * in sync by logical replication needs wal_level=logical; this server runs `replica`.)
 * PostgreSQL only: SQLite has no replicas, and the setting is refused without DATABASE_URL.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { createReadPins } from '../../src/adapters/redis/read-pins.js'
import { openRedis } from '../../src/adapters/redis/redis-client.js'
import { openReadReplicas } from '../../src/adapters/store/read-replicas.js'
import { loadConfig, ConfigError } from '../../src/config/config.js'
import { cliContext } from '../../src/services/context.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { isPostgresAvailable } from '../helpers/dialects.js'
import { parsePrometheusText } from '../helpers/prometheus-text.js'
import { openTestStore, testPasswords } from '../helpers/test-engine.js'

const PIN_MS = 1500
const PASSWORD = 'a long enough password'

interface Node {
  engine: Engine
  app: FastifyInstance
  counts(): { primary: number; replica: number }
}

describe.skipIf(!(await isPostgresAvailable()))('read replicas on PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-replicas-'))
  const application = `er-replica-${randomBytes(4).toString('hex')}`
  const prefix = `er-test-${randomBytes(6).toString('hex')}:`
  const redis = [openRedis('redis://127.0.0.1:6379'), openRedis('redis://127.0.0.1:6379')]
  const bus = createInProcessBus()
  let drop: () => Promise<void>
  let url = ''
  let a: Node
  let b: Node
  const tokens: Record<string, string> = {}

  async function node(index: number, store: Awaited<ReturnType<typeof openTestStore>>['store']) {
    const replicaUrl = new URL(url)
    replicaUrl.searchParams.set('application_name', application)
    const routed = await openReadReplicas(store, [replicaUrl.toString()], { maxConnections: 2 })
    const engine = await createEngine({
      store: routed.store,
      migrationsDir: join(dir, `migrations-${index}`),
      passwords: testPasswords,
      schemaRecheckMs: 0,
      bus,
    })
    const pins = createReadPins({ ttlMs: PIN_MS, redis: redis[index], prefix })
    const app = await buildServer(engine, {
      replicaReads: { onReplica: routed.onReplica, counts: routed.counts, pins },
    })
    return { engine, app, counts: routed.counts }
  }
  const list = (n: Node, who: string) =>
    n.app.inject({
      method: 'GET',
      url: '/api/collections/posts/records',
      headers: { authorization: `Bearer ${tokens[who]}` },
    })
  /** What one request did: how many record reads went where. */
  const routedBy = async (n: Node, request: () => Promise<{ statusCode: number }>) => {
    const before = n.counts()
    const res = await request()
    expect(res.statusCode).toBe(200)
    const after = n.counts()
    return { primary: after.primary - before.primary, replica: after.replica - before.replica }
  }

  beforeAll(async () => {
    const opened = await openTestStore('postgres', dir)
    drop = opened.drop
    url = (opened.database as { url: string }).url
    a = await node(0, opened.store)
    b = await node(1, await opened.reopen())
    const root = cliContext(a.engine.registry.get('_superusers'))
    await a.engine.records.create(root, '_superusers', {
      email: 'root@example.com',
      password: PASSWORD,
    })
    await a.engine.schema.createCollection(root, {
      name: 'users',
      type: 'auth',
      fields: [],
      rules: { list: '', view: '', create: '', update: null, delete: null },
    })
    await a.engine.schema.createCollection(root, {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: "@request.auth.id != ''", update: null, delete: null },
    })
    for (const name of ['ann', 'bob']) {
      await a.engine.records.create(root, 'users', {
        email: `${name}@example.com`,
        password: PASSWORD,
      })
    }
    for (const [who, collection] of [
      ['root', '_superusers'],
      ['ann', 'users'],
      ['bob', 'users'],
    ] as const) {
      const signed = await a.engine.auth.loginWithPassword(collection, {
        identity: `${who}@example.com`,
        password: PASSWORD,
      })
      if (!('token' in signed)) throw new Error('no MFA here')
      tokens[who] = signed.token
    }
  })
  afterAll(async () => {
    for (const n of [a, b]) {
      await n?.app.close()
      await n?.engine.close()
    }
    for (const client of redis) client.disconnect()
    await bus.close()
    await drop?.()
    rmSync(dir, { recursive: true, force: true })
  })

  it('an ordinary caller reads from the replica, through its own connections', async () => {
    expect(await routedBy(a, () => list(a, 'bob'))).toEqual({ primary: 0, replica: 1 })
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query(
        'select count(*)::int as n from pg_stat_activity where application_name = $1',
        [application],
      )
      expect(rows[0].n).toBeGreaterThan(0)
    } finally {
      await client.end()
    }
  })

  it('a superuser always reads from the primary', async () => {
    expect(await routedBy(a, () => list(a, 'root'))).toEqual({ primary: 1, replica: 0 })
  })

  it('the caller that just wrote reads its write from the primary, on every node; others do not', async () => {
    const created = await a.app.inject({
      method: 'POST',
      url: '/api/collections/posts/records',
      headers: { authorization: `Bearer ${tokens.ann}` },
      payload: { title: 'mine' },
    })
    expect(created.statusCode, created.body).toBe(201)
    const id = (created.json() as { id: string }).id
    expect(await routedBy(a, () => list(a, 'ann'))).toEqual({ primary: 1, replica: 0 })
    const view = () =>
      b.app.inject({
        method: 'GET',
        url: `/api/collections/posts/records/${id}`,
        headers: { authorization: `Bearer ${tokens.ann}` },
      })
    // Node B learns of the pin through Redis.
    expect(await routedBy(b, view)).toEqual({ primary: 1, replica: 0 })
    expect(((await view()).json() as { title: string }).title).toBe('mine')
    expect(await routedBy(b, () => list(b, 'bob'))).toEqual({ primary: 0, replica: 1 })
    // A failed write pins nothing.
    const refused = await b.app.inject({
      method: 'POST',
      url: '/api/collections/posts/records',
      headers: { authorization: `Bearer ${tokens.bob}` },
      payload: { title: 42 },
    })
    expect(refused.statusCode).toBe(400)
    expect(await routedBy(b, () => list(b, 'bob'))).toEqual({ primary: 0, replica: 1 })
    // Once the pin lapses, the writer reads from a replica again.
    await new Promise((resolve) => setTimeout(resolve, PIN_MS + 200))
    expect(await routedBy(a, () => list(a, 'ann'))).toEqual({ primary: 0, replica: 1 })
  })

  it('reports where reads ran in er_store_reads_total', async () => {
    const res = await a.app.inject({ method: 'GET', url: '/metrics' })
    const { samples } = parsePrometheusText(res.body)
    const value = (target: string) =>
      samples.find((s) => s.name === 'er_store_reads_total' && s.labels.target === target)?.value
    expect(value('replica')).toBe(a.counts().replica)
    expect(value('primary')).toBe(a.counts().primary)
    expect(value('replica')).toBeGreaterThanOrEqual(2)
  })

  it('refuses replicas without a PostgreSQL primary, and a URL that is not PostgreSQL', () => {
    expect(() => loadConfig({ dir }, { DATABASE_REPLICA_URLS: 'postgres://replica/app' })).toThrow(
      ConfigError,
    )
    expect(() =>
      loadConfig(
        { dir },
        {
          DATABASE_URL: 'postgres://primary/app',
          DATABASE_REPLICA_URLS: 'postgres://r/app,mysql://x',
        },
      ),
    ).toThrow(/DATABASE_REPLICA_URLS \(entry 2\): expected a postgres: or postgresql: URL/)
    const config = loadConfig(
      { dir },
      {
        DATABASE_URL: 'postgres://primary/app',
        DATABASE_REPLICA_URLS: 'postgres://r1/app, postgres://r2/app',
      },
    )
    expect(config.replicaUrls).toEqual(['postgres://r1/app', 'postgres://r2/app'])
    expect(config.replicaPinSeconds).toBe(5)
  })
})
