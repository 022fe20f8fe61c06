/**
 * Jobs and webhooks, measured in one run against raw floors:
 * - jobs/s through the store queue (SQLite) and BullMQ (when Redis answers), each against a
 *   hand-written floor doing the same durable steps (SQLite: insert, claim, settle one row per
 *   job with better-sqlite3; Redis: LPUSH + RPOPLPUSH + LREM per job with ioredis);
 * - webhook deliveries/s to a local receiver;
 * - the write path's cost of an enabled webhook: record creates/s with one against none.
 *
 *   node --import tsx bench/jobs.ts          (BENCH_JOBS=2000 jobs, BENCH_WRITES=500 creates)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { createBullmqQueue } from '../src/adapters/queue/bullmq/bullmq-queue.js'
import { openSqliteStore } from '../src/adapters/store/sqlite/sqlite-store.js'
import { createArgon2Hasher } from '../src/services/auth/password-hasher.js'
import { cliContext } from '../src/services/context.js'
import { createEngine, type Engine, type EngineOptions } from '../src/services/create-engine.js'

const JOBS = Number(process.env.BENCH_JOBS ?? 2000)
const WRITES = Number(process.env.BENCH_WRITES ?? 500)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const dirs: string[] = []

async function engineOn(extra: Partial<EngineOptions> = {}): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-jobs-'))
  dirs.push(dir)
  return createEngine({
    store: await openSqliteStore({ file: join(dir, 'data.db') }),
    migrationsDir: join(dir, 'migrations'),
    passwords: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }),
    jobs: { pollMs: 20 },
    ...extra,
  })
}

async function jobsPerSecond(engine: Engine): Promise<number> {
  let done = 0
  let finished: () => void = () => {}
  const all = new Promise<void>((resolve) => (finished = resolve))
  engine.jobs.define('noop', () => {
    if (++done === JOBS) finished()
  })
  const start = performance.now()
  for (let i = 0; i < JOBS; i++) await engine.jobs.enqueue('noop', { i })
  engine.jobs.startWorkers(8)
  await all
  return JOBS / ((performance.now() - start) / 1000)
}

function sqliteFloor(): number {
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-floor-'))
  dirs.push(dir)
  const db = new Database(join(dir, 'floor.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('create table q (id integer primary key, payload text, state text, owner text)')
  const insert = db.prepare("insert into q (payload, state) values (?, 'queued')")
  const claim = db.prepare(
    "update q set state = 'active', owner = 'w' where id in (select id from q where state = 'queued' order by id limit 8) returning id",
  )
  const settle = db.prepare("update q set state = 'done' where id = ? and owner = 'w'")
  const start = performance.now()
  for (let i = 0; i < JOBS; i++) insert.run(JSON.stringify({ i }))
  for (;;) {
    const rows = claim.all() as { id: number }[]
    if (rows.length === 0) break
    for (const row of rows) settle.run(row.id)
  }
  db.close()
  return JOBS / ((performance.now() - start) / 1000)
}

async function redisFloor(): Promise<number> {
  const redis = new Redis(REDIS_URL)
  const key = `er-bench-floor:${process.pid}`
  const start = performance.now()
  for (let i = 0; i < JOBS; i++) await redis.lpush(`${key}:wait`, JSON.stringify({ i }))
  for (;;) {
    const item = await redis.rpoplpush(`${key}:wait`, `${key}:active`)
    if (item === null) break
    await redis.lrem(`${key}:active`, 1, item)
  }
  const rate = JOBS / ((performance.now() - start) / 1000)
  await redis.del(`${key}:wait`, `${key}:active`)
  await redis.quit()
  return rate
}

async function writes(engine: Engine): Promise<number> {
  const ctx = cliContext(engine.registry.get('_superusers'))
  const start = performance.now()
  for (let i = 0; i < WRITES; i++) await engine.records.create(ctx, 'posts', { title: `t${i}` })
  return WRITES / ((performance.now() - start) / 1000)
}

async function withPosts(engine: Engine): Promise<void> {
  await engine.schema.createCollection(cliContext(engine.registry.get('_superusers')), {
    name: 'posts',
    type: 'base',
    fields: [{ name: 'title', type: 'text' }],
  })
}

const fmt = (n: number) => n.toFixed(0).padStart(8)
console.log(`jobs: ${JOBS} no-op jobs, 8 at once; webhooks: ${WRITES} creates`)

const storeEngine = await engineOn()
const storeRate = await jobsPerSecond(storeEngine)
await storeEngine.close()
const floor = sqliteFloor()
console.log(
  `store queue (SQLite)   ${fmt(storeRate)} jobs/s  floor ${fmt(floor)}/s  ratio ${(storeRate / floor).toFixed(3)}`,
)

try {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await probe.connect()
  probe.disconnect()
  const prefix = `er-bench-${process.pid}:`
  const bullEngine = await engineOn({
    queue: {
      kind: 'bullmq',
      // Built right after the engine's store exists (below); forwards to it.
      enqueue: (r) => bull.enqueue(r),
      startWorker: (o) => bull.startWorker(o),
      get: (id) => bull.get(id),
      list: (q) => bull.list(q),
      retry: (id) => bull.retry(id),
      cancel: (id) => bull.cancel(id),
      counts: () => bull.counts(),
      close: () => bull.close(),
    },
  })
  const bull = createBullmqQueue({ url: REDIS_URL, prefix, store: bullEngine.store })
  const bullRate = await jobsPerSecond(bullEngine)
  await bullEngine.close()
  const cleanup = new Redis(REDIS_URL)
  const keys = await cleanup.keys(`${prefix}*`)
  if (keys.length > 0) await cleanup.del(...keys)
  await cleanup.quit()
  const rFloor = await redisFloor()
  console.log(
    `BullMQ (Redis)         ${fmt(bullRate)} jobs/s  floor ${fmt(rFloor)}/s  ratio ${(bullRate / rFloor).toFixed(3)}`,
  )
} catch (error) {
  console.log(`BullMQ: skipped (${String(error)})`)
}

// Webhooks: a local receiver answering 204.
let received = 0
let allReceived: () => void = () => {}
const receiver = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(204).end()
    if (++received === WRITES) allReceived()
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

const plain = await engineOn()
await withPosts(plain)
const without = await writes(plain)
await plain.close()

const hooked = await engineOn({ webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 50 } })
await withPosts(hooked)
await hooked.webhooks.create(cliContext(hooked.registry.get('_superusers')), {
  url,
  collection: 'posts',
  actions: ['create'],
})
const deliveredAll = new Promise<void>((resolve) => (allReceived = resolve))
const start = performance.now()
const withHook = await writes(hooked)
hooked.jobs.startWorkers(8)
await deliveredAll
const deliveries = WRITES / ((performance.now() - start) / 1000)
await hooked.close()
receiver.close()
console.log(
  `record creates/s       ${fmt(withHook)} with a webhook  ${fmt(without)} without  ratio ${(withHook / without).toFixed(3)}`,
)
console.log(
  `webhook deliveries/s   ${fmt(deliveries)} (writes, fan-out, signing, POST, log; end to end)`,
)
for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
