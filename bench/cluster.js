/**
 * 1 node against N nodes behind nginx: `engineroom serve` processes (the built CLI) on one fresh
 * PostgreSQL database and Redis (a key prefix of their own), behind nginx from Debian running
 * deploy/nginx/engineroom.conf, loaded by wrk through nginx with get by id and create. Prints
 * req/s of each, the ratio N ÷ 1, and CPU µs per request summed over the `serve` processes
 * (nginx's apart), from /proc.
 *
 * On this project's 2-core machine, N = 3 nodes (plus nginx, wrk, PostgreSQL and Redis) share
 * two cores: the ratio measures what the cluster costs (the bus, the balancer's hop, three
 * processes competing) and that it stays correct under load, not how it scales. Scaling needs
 * a core per node.
 *
 *   npm run build && node bench/cluster.js
 *   npm run build && BENCH_ONLY=cluster node --expose-gc bench/run.js   (within the full bench)
 *
 * Environment: BENCH_PG_URL (a server where this user may create databases; default the local
 * trust-auth server), REDIS_URL (redis://127.0.0.1:6379), BENCH_CLUSTER_NODES (3),
 * BENCH_RECORDS (20,000; 10,000 quick), BENCH_SECONDS (5; 2 quick), BENCH_ROUNDS (2; 1 quick:
 * 1 node then N, then N then 1, …), BENCH_CONNECTIONS (32).
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { startNginx, nginxBinary } from './nginx.js'
import { adminQuery, databaseUrl, seedPostgres, wrkLoad, wrkScripts } from './postgres.js'
import { SUPERUSER } from './seed.js'
import { freePort, killServes, spawnServe, treeStats } from './serve-process.js'
import { exitOnSignals, onTeardown } from './teardown.js'

const env = process.env
const POSTS = '/api/collections/posts/records'
const positive = (value, fallback) => (Number(value) > 0 ? Number(value) : fallback)

function clusterSettings({ quick = false } = {}) {
  return {
    pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    nodes: positive(env.BENCH_CLUSTER_NODES, 3),
    records: positive(env.BENCH_RECORDS, quick ? 10_000 : 20_000),
    seconds: positive(env.BENCH_SECONDS, quick ? 2 : 5),
    warmupSeconds: quick ? 1 : 2,
    rounds: positive(env.BENCH_ROUNDS, quick ? 1 : 2),
    connections: positive(env.BENCH_CONNECTIONS, 32),
  }
}

const cpuMicros = (stats) => stats.cpu.user + stats.cpu.system

/** Deletes every Redis key under `prefix` (the nodes' bus, leases, queue). */
async function removeKeys(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

async function countPosts(dbUrl) {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  try {
    return Number((await client.query('select count(*) as n from posts')).rows[0].n)
  } finally {
    await client.end()
  }
}

/**
 * `count` serve nodes on the database behind a fresh nginx, started into `cluster` (so that a
 * clean-up meanwhile finds what has started). Each node has its own data directory (as on its
 * own machine); what they share is PostgreSQL and Redis.
 */
async function startCluster(cluster, { dir, nodeEnv, binary }) {
  for (let n = 1; n <= cluster.count; n++) {
    const nodeDir = join(dir, `nodes-${cluster.count}`, `node${n}`)
    mkdirSync(nodeDir, { recursive: true })
    cluster.nodes.push(await spawnServe({ dir: nodeDir, env: nodeEnv }))
  }
  cluster.nginx = await startNginx({
    binary,
    upstreams: cluster.nodes.map((node) => new URL(node.url).host),
    port: await freePort(),
  })
  cluster.url = cluster.nginx.url
}

/** A cluster of `count` nodes, not started yet; `stop()` ends whatever of it has started. */
function clusterOf(count) {
  const cluster = {
    count,
    nodes: [],
    nginx: undefined,
    url: undefined,
    async stop() {
      await cluster.nginx?.stop()
      await Promise.all(cluster.nodes.map((node) => node.close()))
    },
  }
  return cluster
}

/** One wrk run through nginx; CPU from /proc of every serve process and of nginx. */
async function loadCluster(cluster, script, token, seconds, connections) {
  const nodeCpu = () => cluster.nodes.map((node) => cpuMicros(treeStats(node.rootPid)))
  const before = nodeCpu()
  const nginxBefore = cpuMicros(treeStats(cluster.nginx.pid))
  const result = await wrkLoad(cluster, script, seconds, token, connections)
  const perNode = nodeCpu().map((micros, i) => micros - before[i])
  const nginxCpu = cpuMicros(treeStats(cluster.nginx.pid)) - nginxBefore
  const serveCpu = perNode.reduce((sum, micros) => sum + micros, 0)
  return {
    ...result,
    ok: result.requests - result.non2xx,
    reqPerSec: (result.requests - result.non2xx) / seconds,
    serveCpuMicrosPerRequest: result.requests > 0 ? serveCpu / result.requests : null,
    nginxCpuMicrosPerRequest: result.requests > 0 ? nginxCpu / result.requests : null,
    // Each node's share of the serve CPU: how evenly nginx spread the work.
    cpuShares: perNode.map((micros) => (serveCpu > 0 ? micros / serveCpu : 0)),
  }
}

/**
 * Creates a database and seeds it, then, round after round, starts 1 node and N nodes behind
 * nginx (in alternating order) and loads each with get by id and create. Every process, the
 * database and the Redis keys are gone when it returns or throws (and on Ctrl-C).
 */
export async function measureCluster({ quick = false, log = console.log } = {}) {
  const settings = clusterSettings({ quick })
  const binary = nginxBinary()
  if (!binary) {
    return {
      skipped: 'nginx is not installed (apt-get install nginx)',
      settings: { nodes: settings.nodes },
    }
  }
  const tag = randomBytes(6).toString('hex')
  const database = `er_bench_cluster_${tag}`
  const dbUrl = databaseUrl(settings.pgUrl, database)
  // The bus, counters and leases (ER_BUS_PREFIX) and BullMQ's keys (ER_JOBS_PREFIX) under one
  // prefix of this run's own, removed at the end.
  const prefix = `er-bench-cluster-${tag}:`
  const dir = mkdtempSync(join(tmpdir(), 'engineroom-cluster-bench-'))
  const nodeEnv = {
    DATABASE_URL: dbUrl,
    REDIS_URL: settings.redisUrl,
    ER_BUS_PREFIX: prefix,
    ER_JOBS_PREFIX: prefix,
    // nginx is the one proxy in front (as deploy/ sets it up).
    ER_TRUST_PROXY: '1',
  }
  let running
  let created = false
  let cleaned
  const cleanup = () =>
    (cleaned ??= (async () => {
      await running?.stop()
      if (created) {
        await adminQuery(settings.pgUrl, `drop database if exists ${database} with (force)`).catch(
          (error) => console.error(`could not drop ${database}: ${error.message}`),
        )
      }
      await removeKeys(settings.redisUrl, prefix).catch((error) =>
        console.error(`could not remove the Redis keys ${prefix}*: ${error.message}`),
      )
      rmSync(dir, { recursive: true, force: true })
    })())
  // Interrupted, a node may be half started (not in `running` yet): every serve goes first.
  const untrack = onTeardown(() => {
    killServes()
    return cleanup()
  })
  // The URLs stay out of the result (it is written to bench/results/): they may hold passwords.
  const { pgUrl: _pg, redisUrl: _redis, ...shown } = settings
  const result = { settings: shown, runs: [], flagged: false, problems: [] }
  try {
    await adminQuery(settings.pgUrl, `create database ${database}`)
    created = true
    const started = performance.now()
    const sampleIds = await seedPostgres({
      dbUrl,
      migrationsDir: join(dir, 'seed-migrations'),
      records: settings.records,
    })
    log(`Cluster: seeded ${database} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const scripts = {
      'get by id': join(dir, 'get.lua'),
      create: join(dir, 'create.lua'),
    }
    writeFileSync(scripts['get by id'], wrkScripts.paths(sampleIds.map((id) => `${POSTS}/${id}`)))
    writeFileSync(scripts.create, wrkScripts.create(tag))

    let token
    for (let round = 1; round <= settings.rounds; round++) {
      const order = round % 2 ? [1, settings.nodes] : [settings.nodes, 1]
      for (const count of order) {
        running = clusterOf(count)
        await startCluster(running, { dir, nodeEnv, binary })
        token ??= await login(running.url)
        for (const [scenario, script] of Object.entries(scripts)) {
          const postsBefore = scenario === 'create' ? await countPosts(dbUrl) : 0
          const warm = await wrkLoad(
            running,
            script,
            settings.warmupSeconds,
            token,
            settings.connections,
          )
          const run = await loadCluster(
            running,
            script,
            token,
            settings.seconds,
            settings.connections,
          )
          run.scenario = scenario
          run.nodes = count
          run.round = round
          if (run.non2xx + run.errors + warm.non2xx + warm.errors > 0) {
            result.flagged = true
            result.problems.push(
              `${scenario}, ${count} node(s): ${run.non2xx + warm.non2xx} non-2xx, ${run.errors + warm.errors} socket errors`,
            )
          }
          if (scenario === 'create') {
            // Every acknowledged create is in the database (those in flight when wrk stopped
            // may be there too, unacknowledged).
            const stored = (await countPosts(dbUrl)) - postsBefore
            const acknowledged = warm.requests - warm.non2xx + run.ok
            run.stored = stored
            run.acknowledged = acknowledged
            if (stored < acknowledged) {
              result.flagged = true
              result.problems.push(
                `create, ${count} node(s): ${acknowledged} acknowledged but ${stored} stored`,
              )
            }
          }
          result.runs.push(run)
          log(
            `  cluster ${scenario.padEnd(9)} ${count} node${count > 1 ? 's' : ' '} ` +
              `${run.reqPerSec.toFixed(0).padStart(6)} req/s, serve CPU ` +
              `${run.serveCpuMicrosPerRequest?.toFixed(0)} µs/req`,
          )
        }
        await running.stop()
        running = undefined
      }
    }
    return summarise(result)
  } finally {
    untrack()
    await cleanup()
  }
}

async function login(url) {
  const response = await fetch(`${url}/api/collections/_superusers/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(SUPERUSER),
  })
  if (!response.ok)
    throw new Error(`login through nginx: ${response.status} ${await response.text()}`)
  return (await response.json()).token
}

const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length

/** Per scenario and node count, the mean over rounds (alternating order cancels a steady drift). */
function summarise(result) {
  const { nodes } = result.settings
  result.rows = []
  for (const scenario of ['get by id', 'create']) {
    const of = (count) => result.runs.filter((r) => r.scenario === scenario && r.nodes === count)
    for (const count of [1, nodes]) {
      const runs = of(count)
      result.rows.push({
        scenario,
        nodes: count,
        reqPerSec: mean(runs.map((r) => r.reqPerSec)),
        p50: mean(runs.map((r) => r.p50 ?? 0)),
        serveCpu: mean(runs.map((r) => r.serveCpuMicrosPerRequest ?? 0)),
        nginxCpu: mean(runs.map((r) => r.nginxCpuMicrosPerRequest ?? 0)),
        shares: runs.at(-1)?.cpuShares ?? [],
        bad: runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
      })
    }
    const [one, many] = result.rows.slice(-2)
    many.ratio = many.reqPerSec / one.reqPerSec
  }
  return result
}

export function printCluster(result) {
  const s = result.settings
  console.log(
    `\nCluster: engineroom serve on PostgreSQL + Redis behind nginx, 1 node vs ${s.nodes}`,
  )
  if (result.skipped) {
    console.log(`  skipped: ${result.skipped}`)
    return
  }
  console.log(
    `(${s.records.toLocaleString('en')} posts, ${s.rounds} round(s) of ${s.seconds} s, wrk ${s.connections} ` +
      'connections through nginx; req/s and CPU are means over the rounds)',
  )
  const header = [
    'scenario',
    'nodes',
    'req/s',
    'p50 ms',
    'serve CPU µs/req',
    'nginx CPU µs/req',
    'CPU split',
    'non-2xx/err',
    `${s.nodes} ÷ 1`,
  ]
  const rows = result.rows.map((r) => [
    r.scenario,
    String(r.nodes),
    r.reqPerSec.toFixed(0),
    r.p50.toFixed(2),
    r.serveCpu.toFixed(0),
    r.nginxCpu.toFixed(0),
    r.shares.map((share) => `${Math.round(share * 100)}`).join('/') + ' %',
    r.bad > 0 ? `! ${r.bad}` : '0',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) =>
    cells.map((cell, i) => (i < 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
  const creates = result.runs.filter((r) => r.scenario === 'create')
  const lost = creates.filter((r) => r.stored < r.acknowledged)
  console.log(
    `creates acknowledged → found in the database: ` +
      creates.map((r) => `${r.acknowledged} → ${r.stored}`).join(', ') +
      (lost.length === 0 ? ' (none lost)' : `  ! ${lost.length} run(s) lost acknowledged creates`),
  )
  for (const problem of result.problems) console.log(`! ${problem}`)
  console.log(
    `Note: ${s.nodes} nodes on ${cpus().length} cores, shared with nginx, wrk, PostgreSQL and Redis, ` +
      "measure the cluster's overhead and its correctness under load, not its scaling " +
      '(that needs a core per node); the CPU split says how evenly nginx spread the work.',
  )
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  exitOnSignals()
  let failed = true
  try {
    const result = await measureCluster()
    printCluster(result)
    failed = result.flagged
  } catch (error) {
    console.error(error)
  } finally {
    killServes()
  }
  process.exit(failed ? 1 : 0)
}
