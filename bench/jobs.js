/**
 * Jobs and webhooks against raw floors measured in the same run:
 * - jobs/s through each queue adapter, enqueued one by one and run by 8 workers at once: the
 *   store queue on SQLite and on PostgreSQL against hand-written SQL doing the same durable steps
 *   on the same `_jobs` table (insert, claim a batch, settle each), and the BullMQ adapter
 *   against bare BullMQ (Queue.add + a Worker) on the same Redis;
 * - webhook deliveries/s (sign, POST, log, settle) to a local receiver, against the same number
 *   of signed POSTs sent straight with node:http at the same concurrency;
 * - the write path's cost of one enabled webhook: record creates/s with one against none
 *   (rounds alternate between the two engines, so drift hits both).
 *
 *   npm run build && BENCH_ONLY=jobs node --expose-gc bench/run.js
 *   npm run build && node bench/jobs.js          (this scenario alone)
 *
 * Environment: BENCH_JOBS (default 2000; 500 quick), BENCH_WRITES (default 1000; 300 quick),
 * BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres; its row is skipped,
 * saying why, when it does not answer), REDIS_URL (default redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const load = (path) => import(join(dist, path))
const CONCURRENCY = 8

/** Runs `jobs` no-op jobs through an engine's queue: enqueue one by one, then 8 workers. */
async function engineJobsPerSecond(engine, jobs) {
  let done = 0
  let finished = () => {}
  const all = new Promise((resolve) => (finished = resolve))
  engine.jobs.define('noop', () => {
    if (++done === jobs) finished()
  })
  const start = performance.now()
  for (let i = 0; i < jobs; i++) await engine.jobs.enqueue('noop', { i })
  engine.jobs.startWorkers(CONCURRENCY)
  await all
  return jobs / ((performance.now() - start) / 1000)
}

const jobRow = (i, now) => [
  `floor${i}`,
  'noop',
  JSON.stringify({ i }),
  'queued',
  0,
  0,
  5,
  now,
  now,
  now,
]
const INSERT_COLUMNS =
  'id, name, payload, state, priority, attempts_made, max_attempts, run_at, created, updated'

/** The store queue's durable steps by hand on SQLite's `_jobs`: insert, claim 8, settle each. */
function sqliteFloor(file, jobs) {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('delete from _jobs')
  const insert = db.prepare(`insert into _jobs (${INSERT_COLUMNS}) values (?,?,?,?,?,?,?,?,?,?)`)
  const claim = db.prepare(
    `update _jobs set state = 'active', lease_owner = 'w', attempts_made = attempts_made + 1
     where id in (select id from _jobs where state = 'queued' and run_at <= ?
                  order by priority, run_at limit ${CONCURRENCY}) returning id`,
  )
  const settle = db.prepare(
    "update _jobs set state = 'done', finished = ?, lease_owner = null where id = ? and lease_owner = 'w'",
  )
  const now = new Date().toISOString()
  const start = performance.now()
  for (let i = 0; i < jobs; i++) insert.run(...jobRow(i, now))
  for (;;) {
    const rows = claim.all(new Date().toISOString())
    if (rows.length === 0) break
    for (const row of rows) settle.run(new Date().toISOString(), row.id)
  }
  const rate = jobs / ((performance.now() - start) / 1000)
  db.close()
  return rate
}

/** The same steps on PostgreSQL's `_jobs`, claiming with FOR UPDATE SKIP LOCKED. */
async function postgresFloor(url, jobs) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('delete from _jobs')
  const now = new Date().toISOString()
  const start = performance.now()
  for (let i = 0; i < jobs; i++) {
    await client.query(
      `insert into _jobs (${INSERT_COLUMNS}) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
      jobRow(i, now),
    )
  }
  for (;;) {
    const { rows } = await client.query(
      `update _jobs set state = 'active', lease_owner = 'w', attempts_made = attempts_made + 1
       where id in (select id from _jobs where state = 'queued' and run_at <= $1
                    order by priority, run_at limit ${CONCURRENCY} for update skip locked)
       returning id`,
      [new Date().toISOString()],
    )
    if (rows.length === 0) break
    for (const row of rows) {
      await client.query(
        "update _jobs set state = 'done', finished = $1, lease_owner = null where id = $2 and lease_owner = 'w'",
        [new Date().toISOString(), row.id],
      )
    }
  }
  const rate = jobs / ((performance.now() - start) / 1000)
  await client.end()
  return rate
}

/** Bare BullMQ on the same Redis: add one by one, a Worker with the same concurrency. */
async function bullmqFloor(redisUrl, prefix, jobs) {
  // BullMQ leaves connections it was given open: kept here and quit at the end, or the bench
  // process never exits.
  const connections = []
  const connection = () => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null })
    connections.push(redis)
    return redis
  }
  const queue = new BullQueue('floor', { connection: connection(), prefix })
  let done = 0
  let finished = () => {}
  const all = new Promise((resolve) => (finished = resolve))
  const start = performance.now()
  for (let i = 0; i < jobs; i++) {
    await queue.add('noop', { i }, { attempts: 5, removeOnComplete: { age: 3600 } })
  }
  const worker = new BullWorker(
    'floor',
    async () => {
      if (++done === jobs) finished()
    },
    { connection: connection(), prefix, concurrency: CONCURRENCY },
  )
  await all
  const rate = jobs / ((performance.now() - start) / 1000)
  await worker.close()
  await queue.close()
  await Promise.all(connections.map((redis) => redis.quit().catch(() => {})))
  return rate
}

async function reachable(check) {
  try {
    await check()
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

async function removeKeys(redisUrl, prefix) {
  const redis = new Redis(redisUrl)
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
}

/** A loopback receiver answering 204, counting what arrives. */
async function startReceiver() {
  const state = { received: 0, target: Infinity, reached: () => {} }
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(204).end()
      if (++state.received === state.target) state.reached()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    /** Resolves once `count` more requests arrived. */
    expect(count) {
      state.target = state.received + count
      return new Promise((resolve) => (state.reached = resolve))
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** Signed POSTs straight to the receiver, `CONCURRENCY` at a time: the deliveries' floor. */
async function deliveryFloor(url, count, signWebhook) {
  const secret = `whsec_${randomBytes(32).toString('base64')}`
  const agent = new Agent({ keepAlive: false })
  let next = 0
  const post = (i) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ collection: 'posts', action: 'create', record: { i } })
      const id = `msg_${i}`
      const timestamp = Math.floor(Date.now() / 1000)
      const req = request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(secret, id, timestamp, body),
        },
      })
      req.on('response', (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end(body)
    })
  const start = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await post(next++)
    }),
  )
  agent.destroy()
  return count / ((performance.now() - start) / 1000)
}

/**
 * @param {{ quick?: boolean }} options
 * @returns the rows (`{ name, rate, floor, ratio, unit }`) and what was skipped, with why.
 */
export async function measureJobs({ quick = false } = {}) {
  const jobs = Number(process.env.BENCH_JOBS ?? (quick ? 500 : 2000))
  const writes = Number(process.env.BENCH_WRITES ?? (quick ? 300 : 1000))
  const postgresUrl =
    process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const { createEngine } = await load('services/create-engine.js')
  const { openSqliteStore } = await load('adapters/store/sqlite/sqlite-store.js')
  const { openPostgresStore } = await load('adapters/store/postgres/postgres-store.js')
  const { createBullmqQueue } = await load('adapters/queue/bullmq/bullmq-queue.js')
  const { createArgon2Hasher } = await load('services/auth/password-hasher.js')
  const { cliContext } = await load('services/context.js')
  const { signWebhook } = await load('services/webhooks/webhook-signing.js')
  const passwords = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 })
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-jobs-'))
  const rows = []
  const skipped = []
  const row = (name, rate, floor, unit) =>
    rows.push({ name, rate, floor, ratio: rate / floor, unit })

  let engines = 0
  const sqliteEngine = async (extra = {}) => {
    const file = join(dir, `data-${++engines}.db`)
    const engine = await createEngine({
      store: await openSqliteStore({ file }),
      migrationsDir: join(dir, `migrations-${engines}`),
      passwords,
      jobs: { pollMs: 20 },
      ...extra,
    })
    return { engine, file }
  }

  try {
    // Store queue on SQLite, then the floor on the same file's `_jobs`.
    {
      const { engine, file } = await sqliteEngine()
      const rate = await engineJobsPerSecond(engine, jobs)
      await engine.close()
      row('store queue (SQLite)', rate, sqliteFloor(file, jobs), 'jobs/s')
    }

    // Store queue on PostgreSQL, in a schema of its own.
    const schema = `er_bench_jobs_${randomBytes(4).toString('hex')}`
    const admin = new pg.Client({ connectionString: postgresUrl })
    const pgDown = await reachable(async () => {
      await admin.connect()
      await admin.query(`create schema "${schema}"`)
    })
    if (pgDown) {
      skipped.push(`store queue (PostgreSQL): ${postgresUrl} did not answer (${pgDown})`)
    } else {
      try {
        const url = new URL(postgresUrl)
        url.searchParams.set('options', `-c search_path=${schema}`)
        const engine = await createEngine({
          store: await openPostgresStore({ url: url.toString(), maxConnections: 10 }),
          migrationsDir: join(dir, 'migrations-pg'),
          passwords,
          jobs: { pollMs: 20 },
        })
        const rate = await engineJobsPerSecond(engine, jobs)
        await engine.close()
        row('store queue (PostgreSQL)', rate, await postgresFloor(url.toString(), jobs), 'jobs/s')
      } finally {
        await admin.query(`drop schema if exists "${schema}" cascade`)
      }
    }
    await admin.end().catch(() => {})

    // BullMQ: the adapter (its outbox in a SQLite store) against bare BullMQ.
    const redisDown = await reachable(async () => {
      const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
      try {
        await probe.connect()
        await probe.ping()
      } finally {
        probe.disconnect()
      }
    })
    if (redisDown) {
      skipped.push(`BullMQ (Redis): ${redisUrl} did not answer (${redisDown})`)
    } else {
      const prefix = `er-bench-${process.pid}-${randomBytes(3).toString('hex')}:`
      try {
        const late = {}
        const forward =
          (method) =>
          (...args) =>
            late.queue[method](...args)
        const { engine } = await sqliteEngine({
          // The adapter needs the engine's store, so it is made just after; this forwards to it.
          queue: {
            kind: 'bullmq',
            ...Object.fromEntries(
              ['enqueue', 'startWorker', 'get', 'list', 'retry', 'cancel', 'counts', 'close'].map(
                (m) => [m, forward(m)],
              ),
            ),
          },
        })
        late.queue = createBullmqQueue({ url: redisUrl, prefix, store: engine.store })
        const rate = await engineJobsPerSecond(engine, jobs)
        await engine.close()
        row('BullMQ (Redis)', rate, await bullmqFloor(redisUrl, `${prefix}floor`, jobs), 'jobs/s')
      } finally {
        await removeKeys(redisUrl, prefix)
      }
    }

    // Webhooks: the write path with one enabled webhook against none, then the deliveries.
    const receiver = await startReceiver()
    try {
      const ctx = (engine) => cliContext(engine.registry.get('_superusers'))
      const withPosts = async () => {
        const { engine } = await sqliteEngine({
          webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 50 },
        })
        await engine.schema.createCollection(ctx(engine), {
          name: 'posts',
          type: 'base',
          fields: [{ name: 'title', type: 'text' }],
        })
        return engine
      }
      const plain = await withPosts()
      const hooked = await withPosts()
      await hooked.webhooks.create(ctx(hooked), {
        url: receiver.url,
        collection: 'posts',
        actions: ['create'],
      })
      const create = async (engine, n) => {
        const start = performance.now()
        for (let i = 0; i < n; i++)
          await engine.records.create(ctx(engine), 'posts', { title: `t${i}` })
        return performance.now() - start
      }
      await create(plain, 50)
      await create(hooked, 50)
      const rounds = 4
      const per = Math.ceil(writes / rounds)
      let plainMs = 0
      let hookedMs = 0
      for (let r = 0; r < rounds; r++) {
        plainMs += await create(plain, per)
        hookedMs += await create(hooked, per)
      }
      const plainRate = (per * rounds) / (plainMs / 1000)
      const hookedRate = (per * rounds) / (hookedMs / 1000)
      row('record creates, one webhook vs none', hookedRate, plainRate, 'creates/s')
      await plain.close()

      // Every create above is queued as a delivery (the feeder ran meanwhile); the workers
      // start now, so this measures delivering them: sign, POST, log, settle.
      const pending = 50 + per * rounds
      const allDelivered = receiver.expect(pending)
      const start = performance.now()
      hooked.jobs.startWorkers(CONCURRENCY)
      await allDelivered
      const deliveries = pending / ((performance.now() - start) / 1000)
      await hooked.close()
      row(
        'webhook deliveries (local receiver)',
        deliveries,
        await deliveryFloor(receiver.url, pending, signWebhook),
        'deliveries/s',
      )
    } finally {
      await receiver.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return { jobs, writes, concurrency: CONCURRENCY, rows, skipped }
}

export function printJobs(result) {
  const fmt = (n) => n.toFixed(0).padStart(8)
  console.log('')
  console.log(
    `Jobs and webhooks (${result.jobs} no-op jobs, ${result.writes} creates, ${result.concurrency} at once; ratio = engine / floor measured in this run)`,
  )
  for (const r of result.rows) {
    console.log(
      `  ${r.name.padEnd(38)} ${fmt(r.rate)} ${r.unit.padEnd(12)} floor ${fmt(r.floor)}  ratio ${r.ratio.toFixed(3)}`,
    )
  }
  for (const line of result.skipped) console.log(`  skipped: ${line}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printJobs(await measureJobs({ quick: process.env.BENCH_QUICK === '1' }))
}
