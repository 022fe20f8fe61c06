/**
 * Real `serve` processes on PostgreSQL + Redis, with no ER_BUS_PREFIX: the Redis channels and
 * keys of a deployment carry its id (findings 15 and 16 of issue 11).
 * - Two deployments sharing one Redis server (different DB indexes, which pub/sub ignores, and
 *   the same DB index) each receive their own events, all of them, and none of the other's.
 * - Two nodes of one deployment: a collection created on one is served by the other right after
 *   the 201, and fields added or dropped on one never give the other a 500.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable, postgresUrl } from '../helpers/dialects.js'
import {
  loginSuperuser,
  runCli,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { openSse, type SseClient, type SseEvent } from '../helpers/sse-client.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

const REDIS = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const EMAIL = 'root@example.com'
const PASSWORD = 'correct horse battery'
const servers: ServerProcess[] = []
const clients: SseClient[] = []
const cleanups: (() => Promise<void> | void)[] = []

afterAll(async () => {
  for (const client of clients) client.close()
  for (const server of servers) await server.stop('SIGKILL')
  for (const cleanup of cleanups) await cleanup()
})

const postgres = await isPostgresAvailable()

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  return fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

/** A deployment: its own PostgreSQL schema and data directory, a Redis URL, `nodes` servers. */
async function deploy(redisUrl: string, nodes: number) {
  const schema = await createPostgresSchema()
  cleanups.push(() => schema.drop())
  const dir = mkdtempSync(join(tmpdir(), 'er-deploy-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  // No ER_JOBS_PREFIX either: the job queue, too, must keep to its deployment by default. The
  // webhook receivers of the test listen on loopback, which webhooks may not reach unless allowed.
  const env = {
    DATABASE_URL: schema.url,
    REDIS_URL: redisUrl,
    ER_BUS_PREFIX: '',
    ER_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  }
  const created = runCli(['superuser', 'create', EMAIL, PASSWORD, '--dir', dir], env)
  expect(created.code, created.err).toBe(0)
  const started: ServerProcess[] = []
  for (let i = 0; i < nodes; i++) {
    const server = await startServerProcess(['--dir', join(dir, `node-${i}`)], env)
    servers.push(server)
    started.push(server)
  }
  const token = await loginSuperuser(started[0]!.url, EMAIL, PASSWORD)
  return { schema, nodes: started, token }
}

async function deploymentId(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `select value from "${schema}"."_settings" where key = 'deployment_id'`,
    )
    return (rows[0] as { value: string }).value
  } finally {
    await client.end()
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > until) throw new Error(`not done within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const recordOf = (e: SseEvent) => (JSON.parse(e.data) as { record: { id: string } }).record.id

describe('deployments sharing one Redis server', () => {
  it.skipIf(!postgres).each([
    ['different DB indexes', `${REDIS}/1`, `${REDIS}/2`],
    ['the same DB index', `${REDIS}/3`, `${REDIS}/3`],
  ])(
    'each receives its own events and none of the other (%s)',
    async (_, firstRedis, secondRedis) => {
      const deployments = [await deploy(firstRedis, 1), await deploy(secondRedis, 1)]
      const streams: SseClient[] = []
      const sinks = [await startReceiver(), await startReceiver()]
      cleanups.push(async () => {
        for (const sink of sinks) await sink.close()
      })
      for (const [d, { nodes, token }] of deployments.entries()) {
        const url = nodes[0]!.url
        const res = await call(url, token, 'POST', '/api/collections', {
          name: 'posts',
          fields: [{ name: 'title', type: 'text' }],
        })
        expect(res.status).toBe(201)
        // Each write becomes a delivery job; a worker of the other deployment taking it would
        // look for the webhook in the wrong database and this receiver would miss the event.
        const hook = await call(url, token, 'POST', '/api/webhooks', {
          url: `${sinks[d]!.url}/hook`,
          collection: 'posts',
          actions: ['create'],
        })
        expect(hook.status).toBe(201)
        const stream = await openSse(`${url}/api/realtime?topic=posts`, {
          authorization: `Bearer ${token}`,
        })
        expect(stream.status).toBe(200)
        clients.push(stream)
        streams.push(stream)
      }
      // Interleaved writes: both outboxes number their events 1, 2, 3 …
      const written: string[][] = [[], []]
      for (let i = 0; i < 6; i++) {
        for (const [d, { nodes, token }] of deployments.entries()) {
          const res = await call(nodes[0]!.url, token, 'POST', '/api/collections/posts/records', {
            title: `d${d}-${i}`,
          })
          expect(res.status).toBe(201)
          written[d]!.push(((await res.json()) as { id: string }).id)
        }
      }
      for (const [d, stream] of streams.entries()) {
        const events = await stream.waitFor((e) => e.length >= 6, 30_000)
        expect(events.map(recordOf)).toEqual(written[d])
        // Consecutive ids: none lost to the other deployment's numbering.
        const ids = events.map((e) => Number(e.id))
        expect(ids).toEqual(ids.map((_, i) => (ids[0] as number) + i))
      }
      // A last write on each: nothing of the other deployment arrived before it.
      for (const [d, { nodes, token }] of deployments.entries()) {
        const res = await call(nodes[0]!.url, token, 'POST', '/api/collections/posts/records', {
          title: `d${d}-last`,
        })
        written[d]!.push(((await res.json()) as { id: string }).id)
      }
      for (const [d, stream] of streams.entries()) {
        const events = await stream.waitFor((e) => e.length >= 7, 30_000)
        expect(events.map(recordOf)).toEqual(written[d])
      }
      // Every delivery job ran in its own deployment: each receiver got its 7 creates, no other.
      const titlesOf = (d: number) =>
        sinks[d]!.received.map(
          (r) => (JSON.parse(r.body) as { record: { title: string } }).record.title,
        )
      for (const d of [0, 1]) {
        await waitUntil(() => sinks[d]!.received.length >= 7, 60_000)
        expect(titlesOf(d).sort()).toEqual(
          [...Array.from({ length: 6 }, (_, i) => `d${d}-${i}`), `d${d}-last`].sort(),
        )
      }
      // Rate-limit counters, too, live under each deployment's own prefix.
      const ids = await Promise.all(deployments.map(({ schema }) => deploymentId(schema.schema)))
      expect(ids[0]).not.toBe(ids[1])
      for (const [d, redisUrl] of [firstRedis, secondRedis].entries()) {
        const redis = new Redis(redisUrl)
        try {
          const keys = await redis.keys(`er:${ids[d]}:rl:*`)
          expect(keys.length).toBeGreaterThan(0)
        } finally {
          redis.disconnect()
        }
      }
    },
    240_000,
  )
})

describe('two nodes of one deployment', () => {
  it.skipIf(!postgres)(
    'serve each other schema changes at once, and never a 500',
    async () => {
      const { nodes, token } = await deploy(`${REDIS}/4`, 2)
      const [a, b] = nodes as [ServerProcess, ServerProcess]
      for (let i = 0; i < 15; i++) {
        const created = await call(a.url, token, 'POST', '/api/collections', {
          name: `c${i}`,
          fields: [{ name: 'title', type: 'text' }],
        })
        expect(created.status).toBe(201)
        const onB = await call(b.url, token, 'POST', `/api/collections/c${i}/records`, {
          title: 'x',
        })
        expect(onB.status, await onB.text()).toBe(201)
        const listed = await call(b.url, token, 'GET', `/api/collections/c${i}/records`)
        expect(listed.status).toBe(200)
      }
      // A stream on B for a collection made on A a moment ago.
      const made = await call(a.url, token, 'POST', '/api/collections', {
        name: 'live',
        fields: [{ name: 'title', type: 'text' }],
      })
      expect(made.status).toBe(201)
      const stream = await openSse(`${b.url}/api/realtime?topic=live`, {
        authorization: `Bearer ${token}`,
      })
      clients.push(stream)
      expect(stream.status).toBe(200)
      // Fields come and go on A while B serves: answers are 2xx or a 400, never a 500.
      const statuses = new Set<number>()
      for (let i = 0; i < 10; i++) {
        const fields = [
          { name: 'title', type: 'text' },
          ...(i % 2 === 0
            ? [{ name: 'stamp', type: 'autodate', onCreate: true, onUpdate: true }]
            : []),
        ]
        const patched = await call(a.url, token, 'PATCH', '/api/collections/c0', { fields })
        expect(patched.status).toBe(200)
        for (const [method, path, body] of [
          ['POST', '/api/collections/c0/records', { title: `p${i}` }],
          ['GET', '/api/collections/c0/records?sort=-created', undefined],
          [
            'GET',
            `/api/collections/c0/records?filter=${encodeURIComponent('title != ""')}`,
            undefined,
          ],
        ] as const) {
          const res = await call(b.url, token, method, path, body)
          statuses.add(res.status)
          expect(res.status, await res.text()).toBeLessThan(500)
        }
      }
      expect([...statuses].every((s) => s === 200 || s === 201)).toBe(true)
    },
    240_000,
  )
})
