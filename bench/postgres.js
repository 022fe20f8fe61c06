/**
 * Engine Room on PostgreSQL against its raw floor on `pg`, measured in one run (README.md,
 * "PostgreSQL"). Both servers read the same `posts` table of a fresh database created here and
 * dropped at the end; each runs in its own process (one core each at most: one event loop), and
 * wrk loads them in turn, round after round, so the machine's noise hits both alike.
 *
 *   npm run build && node --expose-gc bench/postgres.js
 *
 * Environment: BENCH_PG_URL (a server where this user may create databases; default the local
 * trust-auth server), BENCH_RECORDS (100,000), BENCH_SECONDS (5 per run), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (32), BENCH_ONLY (get,list,create), BENCH_PROF=<dir> (CPU profile of the
 * engine server, written when the run ends), BENCH_PROF_FLOOR=<dir> (the same of the floor, to
 * compare the two function by function), BENCH_KEEP=1 (keep the database, to look at it),
 * BENCH_BASE=<checkout> (also the engine built there, as `base`: before and after in one run).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { openPostgresStore } from '../dist/adapters/store/postgres/postgres-store.js'
import { newId } from '../dist/core/ids.js'
import { killChildren, startServer } from './measure.js'
import { createBenchSchema, mulberry32, SUPERUSER, WRITER_COUNT } from './seed.js'
import { SERVE_NODE_ARGS } from './serve-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const env = process.env
const positive = (value, fallback) => (Number(value) > 0 ? Number(value) : fallback)
const settings = {
  url: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  records: positive(env.BENCH_RECORDS, 100_000),
  seconds: positive(env.BENCH_SECONDS, 5),
  rounds: positive(env.BENCH_ROUNDS, 3),
  connections: positive(env.BENCH_CONNECTIONS, 32),
  only: (env.BENCH_ONLY ?? 'get,list,create').split(','),
  profileDir: env.BENCH_PROF,
}

const POSTS = '/api/collections/posts/records'
const FILTER = 'status = "published" && views > 100'
const LIST = `${POSTS}?filter=${encodeURIComponent(FILTER)}&sort=-views&perPage=20`

const database = `er_bench_${randomBytes(6).toString('hex')}`
const dbUrl = (() => {
  const url = new URL(settings.url)
  url.pathname = `/${database}`
  return url.toString()
})()
const dir = mkdtempSync(join(tmpdir(), 'engineroom-pgbench-'))

/** Runs `text` on the server's maintenance database (create and drop the bench database). */
async function admin(text) {
  const client = new pg.Client({ connectionString: settings.url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** The bench schema and `records` posts, written through the engine's PostgreSQL store. */
async function seed() {
  const store = await openPostgresStore({ url: dbUrl })
  const { engine, posts } = await createBenchSchema({
    store,
    migrationsDir: join(dir, 'migrations'),
  })
  const random = mulberry32(42)
  const sampleIds = []
  const every = Math.max(1, Math.floor(settings.records / 1000))
  const base = Date.now() - settings.records * 1000
  for (let done = 0; done < settings.records; done += 5000) {
    const rows = []
    for (let k = done; k < Math.min(done + 5000, settings.records); k++) {
      const at = new Date(base + k * 1000).toISOString()
      const id = newId(base + k * 1000)
      if (k % every === 0 && sampleIds.length < 1000) sampleIds.push(id)
      rows.push({
        id,
        created: at,
        updated: at,
        title: `Seeded post number ${k}`,
        status: random() < 0.5 ? 'published' : 'draft',
        views: Math.floor(random() ** 3 * 1000),
        author: k % 3 === 0 ? null : `author-${k % 97}`,
        writer: `writer-${k % WRITER_COUNT}`,
      })
    }
    await engine.store.transaction((tx) => tx.insertRecords(posts, rows))
  }
  await engine.close()
  const analyze = new pg.Client({ connectionString: dbUrl })
  await analyze.connect()
  await analyze.query('analyze')
  await analyze.end()
  return sampleIds
}

const lua = {
  /** GET over `paths` in a scattered order, each request formatted once (see bench/wrk.js). */
  paths: (paths) =>
    `local paths = {\n${paths.map((p) => JSON.stringify(p)).join(',\n')}\n}\n` +
    `local requests = {}\nlocal i = 0\n` +
    `init = function(args)\n  for k, path in ipairs(paths) do requests[k] = wrk.format("GET", path) end\nend\n` +
    `request = function()\n  i = (i + 7919) % #requests\n  return requests[i + 1]\nend\n`,
  /** POST of a unique post per request: a per-connection tag and a counter in the title. */
  create: (tag) =>
    `local n = 0\nlocal tag = ${JSON.stringify(tag)}\n` +
    `setup = function(thread) thread:set("id", tostring(math.random(1e9))) end\n` +
    `wrk.headers["Content-Type"] = "application/json"\n` +
    `request = function()\n  n = n + 1\n  local status = (n % 2 == 0) and "published" or "draft"\n` +
    `  return wrk.format("POST", "${POSTS}", nil, '{"title":"Bench post ' .. tag .. '-' .. n .. '","status":"' .. status .. '","views":' .. (n % 1000) .. '}')\nend\n`,
}

/** Runs wrk on `server` with `script`; resolves with its requests and non-2xx count. */
function wrk(server, script, seconds, token) {
  const args = ['-t1', `-c${settings.connections}`, `-d${seconds}s`, '--latency', '-s', script]
  args.push('-H', `Authorization: Bearer ${token}`, server.url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${out}`))
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
        out,
      )
      const errors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0
      const p50 = /^\s*50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out)
      const scale = { us: 0.001, ms: 1, s: 1000 }
      resolve({ requests, non2xx, errors, p50: p50 ? Number(p50[1]) * scale[p50[2]] : null })
    })
  })
}

/** One measured run: req/s of 2xx answers and the server's CPU µs per request. */
async function run(server, script, token) {
  await server.gc()
  const before = await server.stats()
  const result = await wrk(server, script, settings.seconds, token)
  const after = await server.stats()
  const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  return {
    ...result,
    reqPerSec: (result.requests - result.non2xx) / settings.seconds,
    cpuMicrosPerRequest: result.requests > 0 ? cpu / result.requests : null,
  }
}

/** The status and JSON keys of one answer, to check that both servers answer alike. */
async function shape(server, token, path, body) {
  const response = await fetch(server.url + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = await response.json()
  const item = json.items ? json.items[0] : json
  const ids = json.items ? json.items.map((i) => i.id).join(',') : ''
  return `${response.status} ${Object.keys(item ?? {}).sort()} ${json.items?.length ?? ''} ${ids}`
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const servers = []
let failed = false
try {
  console.log(
    `Engine Room on PostgreSQL vs a Fastify + pg floor: ${settings.records.toLocaleString('en')} ` +
      `posts, ${settings.rounds} rounds of ${settings.seconds} s, wrk ${settings.connections} connections`,
  )
  await admin(`create database ${database}`)
  const started = performance.now()
  const sampleIds = await seed()
  console.log(`seeded ${database} in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const engine = await startServer(
    'engine',
    join(here, 'engine-server.js'),
    { url: dbUrl, migrationsDir: join(dir, 'migrations') },
    [
      ...SERVE_NODE_ARGS,
      ...(settings.profileDir ? ['--cpu-prof', '--cpu-prof-dir', settings.profileDir] : []),
    ],
  )
  servers.push(engine)
  const login = await fetch(`${engine.url}/api/collections/_superusers/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(SUPERUSER),
  })
  const { token } = await login.json()
  const floor = await startServer(
    'floor',
    join(here, 'pg-floor.js'),
    { url: dbUrl, token },
    env.BENCH_PROF_FLOOR ? ['--cpu-prof', '--cpu-prof-dir', env.BENCH_PROF_FLOOR] : [],
  )
  servers.push(floor)
  console.log(`floor list plan: ${floor.info.listPlan.join(' / ')}`)
  // `BENCH_BASE`: another build of the engine on the same database (an earlier commit).
  const base = env.BENCH_BASE
    ? await startServer(
        'base',
        join(env.BENCH_BASE, 'bench', 'engine-server.js'),
        { url: dbUrl, migrationsDir: join(dir, 'migrations-base') },
        SERVE_NODE_ARGS,
      )
    : undefined
  if (base) servers.push(base)
  const measured = base ? [engine, floor, base] : [engine, floor]

  const scenarios = {
    get: {
      path: `${POSTS}/${sampleIds[7]}`,
      script: lua.paths(sampleIds.map((id) => `${POSTS}/${id}`)),
    },
    list: { path: LIST, script: lua.paths([LIST]) },
    create: {
      path: POSTS,
      body: { title: 'A check post', status: 'draft', views: 3 },
      script: lua.create(randomBytes(4).toString('hex')),
    },
  }
  for (const name of settings.only) {
    const scenario = scenarios[name]
    if (!scenario) throw new Error(`unknown scenario ${name} (get, list, create)`)
    const [a, b] = [
      await shape(engine, token, scenario.path, scenario.body),
      await shape(floor, token, scenario.path, scenario.body),
    ]
    if (a !== b) {
      console.log(`WARNING ${name}: answers differ:\n  engine ${a}\n  floor  ${b}`)
      failed = true
    }
  }

  console.log(
    '\nscenario  round  engine req/s  floor req/s  ratio  engine µs/req  floor µs/req' +
      (base ? '  base req/s  base ratio  base µs/req' : ''),
  )
  const summary = []
  for (const name of settings.only) {
    const script = join(dir, `${name}.lua`)
    writeFileSync(script, scenarios[name].script)
    // Warm-up, not recorded: JIT, statement caches, the pool's connections.
    for (const server of measured) await wrk(server, script, 2, token)
    const ratios = []
    const baseRatios = []
    const costs = { engine: [], floor: [], base: [] }
    for (let round = 1; round <= settings.rounds; round++) {
      const order = round % 2 ? measured : [...measured].reverse()
      const result = {}
      for (const server of order) result[server.name] = await run(server, script, token)
      for (const r of Object.values(result)) if (r.non2xx + r.errors > 0) failed = true
      const ratio = result.engine.reqPerSec / result.floor.reqPerSec
      ratios.push(ratio)
      costs.engine.push(result.engine.cpuMicrosPerRequest)
      costs.floor.push(result.floor.cpuMicrosPerRequest)
      const flag = (r) => (r.non2xx + r.errors > 0 ? ` !${r.non2xx}/${r.errors}` : '')
      let baseColumns = ''
      if (result.base) {
        baseRatios.push(result.base.reqPerSec / result.floor.reqPerSec)
        costs.base.push(result.base.cpuMicrosPerRequest)
        baseColumns =
          `  ${result.base.reqPerSec.toFixed(0).padStart(10)}${flag(result.base)}` +
          `  ${baseRatios.at(-1).toFixed(2).padStart(10)}  ${result.base.cpuMicrosPerRequest.toFixed(0).padStart(11)}`
      }
      console.log(
        `${name.padEnd(9)} ${String(round).padStart(5)}  ${result.engine.reqPerSec.toFixed(0).padStart(12)}` +
          `${flag(result.engine)}  ${result.floor.reqPerSec.toFixed(0).padStart(11)}${flag(result.floor)}` +
          `  ${ratio.toFixed(2).padStart(5)}  ${result.engine.cpuMicrosPerRequest.toFixed(0).padStart(12)}` +
          `  ${result.floor.cpuMicrosPerRequest.toFixed(0).padStart(12)}${baseColumns}`,
      )
    }
    summary.push(
      `${name.padEnd(9)} median ratio ${median(ratios).toFixed(2)}  ` +
        `(CPU µs/req engine ${median(costs.engine).toFixed(0)}, floor ${median(costs.floor).toFixed(0)})` +
        (base
          ? `  base ${median(baseRatios).toFixed(2)} (CPU µs/req ${median(costs.base).toFixed(0)})`
          : ''),
    )
  }
  console.log(`\n${summary.join('\n')}`)
  if (failed) console.log('\nFLAGGED: a non-2xx answer, a socket error or differing answers.')
} catch (error) {
  console.error(error)
  failed = true
} finally {
  await Promise.all(servers.map((server) => server.close()))
  killChildren()
  if (env.BENCH_KEEP === '1') console.log(`kept ${dbUrl}`)
  else {
    await admin(`drop database if exists ${database} with (force)`).catch((error) =>
      console.error(`could not drop ${database}: ${error.message}`),
    )
  }
  rmSync(dir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
