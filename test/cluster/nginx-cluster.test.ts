/**
 * Three `engineroom serve` processes on one PostgreSQL + Redis behind a real nginx running
 * deploy/nginx/engineroom.conf (upstreams filled in), with the response cache in Redis: reads
 * through the balancer see writes made on any node and are spread over the nodes, realtime
 * streams through nginx receive events written on other nodes, and a rate limit holds across
 * the cluster, per forwarded client address (ER_TRUST_PROXY=1), whatever X-Forwarded-For the
 * client forges.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { request } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable } from '../helpers/dialects.js'
import { nginxBinary, nginxRequired, startNginx, type NginxProcess } from '../helpers/nginx.js'
import {
  freePort,
  loginSuperuser,
  runCli,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'

const EMAIL = 'root@example.com'
const PASSWORD = 'correct horse battery'
const AUTH_BUDGET = 6
const CONNECTION_CAP = 4
const LEASE_SECONDS = 3

const nginx = nginxBinary()
if (!nginx && nginxRequired) {
  throw new Error('nginx is required (ER_REQUIRE_NGINX=1) but was not found; apt-get install nginx')
}
const postgres = await isPostgresAvailable()

const nodes: ServerProcess[] = []
const streams: SseClient[] = []
const cleanups: (() => Promise<void> | void)[] = []
let balancer: NginxProcess
let token = ''

afterAll(async () => {
  for (const stream of streams) stream.close()
  await balancer?.stop()
  await Promise.all(nodes.map((node) => node.stop('SIGKILL')))
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** One request from a chosen loopback source address (a distinct client to nginx). */
function requestFrom(
  source: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: source,
        agent: false,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        res.on('end', () => done({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', fail)
    req.end(options.body)
  })
}

async function call(url: string, method: string, path: string, body?: unknown) {
  return fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

describe.skipIf(!nginx || !postgres)('three nodes behind nginx (PostgreSQL + Redis)', () => {
  beforeAll(async () => {
    const schema = await createPostgresSchema()
    cleanups.push(() => schema.drop())
    const dir = mkdtempSync(join(tmpdir(), 'er-cluster-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const env = {
      DATABASE_URL: schema.url,
      REDIS_URL: process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      ER_BUS_PREFIX: `er-test-${randomBytes(6).toString('hex')}:`,
      ER_JOBS_PREFIX: `er-test-jobs-${randomBytes(6).toString('hex')}:`,
      ER_TRUST_PROXY: '1',
      ER_RATE_LIMIT_READ: 'off',
      ER_RATE_LIMIT_WRITE: 'off',
      ER_RATE_LIMIT_AUTH: `${AUTH_BUDGET}/60s`,
      ER_CACHE: 'true',
      // Per user across the cluster; a killed node's slots lapse after the lease.
      ER_REALTIME_MAX_CONNECTIONS: String(CONNECTION_CAP),
      ER_REALTIME_LEASE_SECONDS: String(LEASE_SECONDS),
      // Readiness fails for this long after SIGTERM while the node still serves.
      ER_SHUTDOWN_DRAIN: '1000',
    }
    const created = runCli(['superuser', 'create', EMAIL, PASSWORD, '--dir', join(dir, 'cli')], env)
    expect(created.code, created.err).toBe(0)
    nodes.push(
      ...(await Promise.all(
        [1, 2, 3].map((n) => startServerProcess(['--dir', join(dir, `node${n}`)], env)),
      )),
    )
    balancer = await startNginx({
      binary: nginx as string,
      upstreams: nodes.map((node) => new URL(node.url).host),
      port: await freePort(),
      // Which node served each request: the balancing test reads it.
      accessLog: true,
    })
    token = await loginSuperuser(nodes[0]?.url as string, EMAIL, PASSWORD)
    const res = await call(nodes[0]?.url as string, 'POST', '/api/collections', {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: '', update: null, delete: null },
    })
    expect(res.status).toBe(201)
    // Every node learns of the new collection within its schema recheck (1 s).
    for (const node of nodes) {
      for (let i = 0; ; i++) {
        if ((await fetch(`${node.url}/api/collections/posts/records`)).status === 200) break
        expect(i, `${node.url} never served posts`).toBeLessThan(50)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }, 90_000)

  it('records written on one node are read through nginx, from every node', async () => {
    const ids: string[] = []
    for (let i = 0; i < 6; i++) {
      const res = await call(nodes[1]?.url as string, 'POST', '/api/collections/posts/records', {
        title: `via node 2 #${i}`,
      })
      expect(res.status).toBe(201)
      ids.push(((await res.json()) as { id: string }).id)
    }
    for (const id of ids) {
      const res = await fetch(`${balancer.url}/api/collections/posts/records/${id}`)
      expect(res.status).toBe(200)
      expect(((await res.json()) as { id: string }).id).toBe(id)
    }
    const list = await fetch(`${balancer.url}/api/collections/posts/records?perPage=50`)
    const items = ((await list.json()) as { items: { id: string }[] }).items.map((r) => r.id)
    expect(items).toEqual(expect.arrayContaining(ids))
    // nginx's access log names the upstream of each request: the reads were balanced.
    const upstreams = new Set(
      readFileSync(join(balancer.dir, 'logs', 'access.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes(' /api/collections/posts/records/'))
        .map((line) => line.split(' ')[0]),
    )
    expect(upstreams.size).toBeGreaterThanOrEqual(2)
  })

  it('a write on one node invalidates the answers every node cached (Redis cache)', async () => {
    const list = '/api/collections/posts/records?perPage=100&sort=-created'
    // Each node computes and caches the list (and then serves it from the cache).
    for (const node of nodes) {
      for (let i = 0; i < 3; i++) expect((await fetch(`${node.url}${list}`)).status).toBe(200)
    }
    const res = await call(nodes[2]?.url as string, 'POST', '/api/collections/posts/records', {
      title: 'fresh from node 3',
    })
    expect(res.status).toBe(201)
    // The writing node never serves its cached answer from before the write.
    expect(await (await fetch(`${nodes[2]?.url}${list}`)).text()).toContain('fresh from node 3')
    // The others within the bus's delivery (bounded wait), and through nginx too.
    for (const url of [...nodes.map((n) => n.url), balancer.url]) {
      let body = ''
      for (let i = 0; i < 40 && !body.includes('fresh from node 3'); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50))
        body = await (await fetch(`${url}${list}`)).text()
      }
      expect(body, url).toContain('fresh from node 3')
    }
    // The cache was in use: hits counted on the nodes (each node's /metrics, from loopback).
    let hits = 0
    for (const node of nodes) {
      const text = await (await fetch(`${node.url}/metrics`)).text()
      hits += Number(
        /^er_response_cache_requests_total\{outcome="hit"\} (\S+)$/m.exec(text)?.[1] ?? 0,
      )
    }
    expect(hits).toBeGreaterThan(0)
  })

  it('SSE through nginx receives, unbuffered, events written on every node', async () => {
    for (let i = 0; i < 3; i++) {
      const stream = await openSse(`${balancer.url}/api/realtime?topic=posts`, {
        authorization: `Bearer ${token}`,
      })
      expect(stream.status).toBe(200)
      streams.push(stream)
    }
    const written: string[] = []
    for (const node of nodes) {
      const res = await call(node.url, 'POST', '/api/collections/posts/records', {
        title: `from ${node.url}`,
      })
      expect(res.status).toBe(201)
      written.push(((await res.json()) as { id: string }).id)
    }
    for (const stream of streams) {
      // Three small events: a buffering proxy would hold them back well past this wait.
      const events = await stream.waitFor((e) => e.length >= 3, 15_000)
      const ids = events.map((e) => (JSON.parse(e.data) as { record: { id: string } }).record.id)
      expect(ids).toEqual(written)
    }
  })

  it('a rate limit holds across nodes, per forwarded client address', async () => {
    // Distinct loopback source addresses are distinct clients to nginx.
    const client = `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`
    const other = `127.${randomInt(1, 250)}.${randomInt(1, 250)}.1`
    const refresh = (source: string, headers: Record<string, string> = {}) =>
      requestFrom(source, `${balancer.url}/api/collections/_superusers/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ refreshToken: 'not-a-token' }),
      })
    const statuses: number[] = []
    for (let i = 0; i < AUTH_BUDGET * 2; i++) statuses.push((await refresh(client)).status)
    // Per node the budget would allow three times as many (the requests are spread over three).
    expect(statuses.slice(0, AUTH_BUDGET).every((s) => s !== 429)).toBe(true)
    expect(statuses.slice(AUTH_BUDGET)).toEqual(Array(AUTH_BUDGET).fill(429))
    // A forged X-Forwarded-For is appended to, never believed: the budget stays spent.
    expect((await refresh(client, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429)
    // Another client behind the same nginx has its own budget.
    expect((await refresh(other)).status).not.toBe(429)
  })

  it('a per-user connection cap holds across nodes, and Redis and the bus show in metrics', async () => {
    // The streams through nginx above are given back first (a release is asynchronous).
    for (const stream of streams.splice(0)) stream.close()
    const [, doomed, survivor] = nodes as [ServerProcess, ServerProcess, ServerProcess]
    const open = async (node: ServerProcess) => {
      const stream = await openSse(`${node.url}/api/realtime?topic=posts`, {
        authorization: `Bearer ${token}`,
      })
      // A node killed under a stream resets it: expected here, not a test failure.
      stream.response.on('error', () => {})
      if (stream.status === 200) streams.push(stream)
      else stream.close()
      return stream.status
    }
    const openWhenFree = async (node: ServerProcess, withinMs: number) => {
      const until = Date.now() + withinMs
      for (;;) {
        const status = await open(node)
        if (status === 200 || Date.now() > until) return status
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    expect(await openWhenFree(doomed, 5000)).toBe(200)
    expect(await openWhenFree(doomed, 5000)).toBe(200)
    expect(await openWhenFree(survivor, 5000)).toBe(200)
    expect(await openWhenFree(survivor, 5000)).toBe(200)
    // Two streams each on two nodes: every node (the third holds none) refuses a fifth.
    for (const node of nodes) expect(await open(node)).toBe(429)

    const text = await (await fetch(`${survivor.url}/metrics`)).text()
    const sample = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN)
    expect(sample(/^er_redis_connected\{client="commands"\} (\S+)$/m)).toBe(1)
    expect(sample(/^er_redis_connected\{client="bus-subscriber"\} (\S+)$/m)).toBe(1)
    expect(sample(/^er_redis_errors_total\{client="commands"\} (\S+)$/m)).toBe(0)
    expect(sample(/^er_redis_reconnects_total\{client="bus-publisher"\} (\S+)$/m)).toBe(0)
    const lag = sample(/^er_bus_lag_seconds (\S+)$/m)
    expect(lag).toBeGreaterThanOrEqual(0)
    expect(lag).toBeLessThan(5)
  })

  // Last: it stops two of the three nodes.
  it('a drained node and a killed node mid-load: no failed read, every acknowledged write kept', async () => {
    const [drained, killed] = nodes as [ServerProcess, ServerProcess]
    const reads: number[] = []
    const acknowledged: string[] = []
    const writesRefused: (number | string)[] = []
    let running = true
    const reader = async () => {
      while (running) {
        const res = await fetch(`${balancer.url}/api/collections/posts/records?perPage=5`)
        reads.push(res.status)
        await res.arrayBuffer()
      }
    }
    const writer = async () => {
      for (let i = 0; running; i++) {
        try {
          const res = await call(balancer.url, 'POST', '/api/collections/posts/records', {
            title: `under load ${i}`,
          })
          if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id)
          else writesRefused.push(res.status)
        } catch (error) {
          writesRefused.push(String(error))
        }
      }
    }
    const load = Promise.all([reader(), reader(), writer()])
    await new Promise((r) => setTimeout(r, 500))
    const stopping = drained.stop('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    await killed.stop('SIGKILL')
    await stopping
    await new Promise((r) => setTimeout(r, 1000))
    running = false
    await load
    expect(drained.child.exitCode).toBe(0)
    expect(reads.length).toBeGreaterThan(10)
    // nginx retried every idempotent request that met a stopping or dead node elsewhere.
    expect(reads.filter((status) => status !== 200)).toEqual([])
    expect(acknowledged.length).toBeGreaterThan(0)
    // nginx never retries a POST once sent: one in flight on the killed node (502), or sent on
    // a kept-alive connection to the drained node after its listener closed (503), fails —
    // visibly, and unacknowledged. Never anything else, and only a few.
    expect(writesRefused.every((status) => status === 502 || status === 503)).toBe(true)
    expect(writesRefused.length).toBeLessThanOrEqual(4)
    for (const id of acknowledged) {
      const res = await fetch(`${balancer.url}/api/collections/posts/records/${id}`)
      expect(res.status, id).toBe(200)
    }
  })

  it("the killed node's connection slots lapse with their leases; the cap still holds", async () => {
    const survivor = nodes[2] as ServerProcess
    const open = async () => {
      const stream = await openSse(`${survivor.url}/api/realtime?topic=posts`, {
        authorization: `Bearer ${token}`,
      })
      if (stream.status === 200) streams.push(stream)
      else stream.close()
      return stream.status
    }
    // The survivor holds 2; the killed node's 2 count until their leases lapse (3 s).
    const until = Date.now() + LEASE_SECONDS * 1000 * 4
    let status = await open()
    while (status !== 200 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250))
      status = await open()
    }
    expect(status).toBe(200)
    expect(await open()).toBe(200)
    expect(await open()).toBe(429)
  })
})
