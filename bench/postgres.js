/**
 * Engine Room on PostgreSQL against its raw floor on `pg`, measured in one run (README.md,
 * "PostgreSQL"). Both servers read the same `posts` table of a fresh database created here and
 * dropped at the end; each runs in its own process (one core each at most: one event loop), and
 * wrk loads them in turn, round after round, so the machine's noise hits both alike.
 *
 *   npm run build && node --expose-gc bench/postgres.js
 *   npm run build && BENCH_ONLY=postgres node --expose-gc bench/run.js   (within the full bench)
 *
 * Environment: BENCH_PG_URL (a server where this user may create databases; default the local
 * trust-auth server), BENCH_RECORDS (100,000), BENCH_SECONDS (5 per run), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (32), BENCH_PG_ONLY (get,list,create; run alone, BENCH_ONLY too),
 * BENCH_PROF=<dir> (CPU profile of the engine server, written when the run ends),
 * BENCH_PROF_FLOOR=<dir> (the same of the floor, to compare the two function by function),
 * BENCH_KEEP=1 (keep the database, to look at it), BENCH_BASE=<checkout> (also the engine built
 * there, as `base`: before and after in one run). Within run.js, BENCH_QUICK=1 makes it
 * 10,000 posts, 1 round of 2 s.
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
import { exitOnSignals, onTeardown } from './teardown.js'

const here = dirname(fileURLToPath(import.meta.url))
const env = process.env
const positive = (value, fallback) => (Number(value) > 0 ? Number(value) : fallback)

/** The run's settings: the environment's, else the defaults (smaller with `quick`). */
function postgresSettings({ quick = false, only } = {}) {
  return {
    url: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    records: positive(env.BENCH_RECORDS, quick ? 10_000 : 100_000),
    seconds: positive(env.BENCH_SECONDS, quick ? 2 : 5),
    rounds: positive(env.BENCH_ROUNDS, quick ? 1 : 3),
    connections: positive(env.BENCH_CONNECTIONS, 32),
    only: (only ?? env.BENCH_PG_ONLY ?? 'get,list,create').split(','),
    profileDir: env.BENCH_PROF,
  }
}

const POSTS = '/api/collections/posts/records'
const FILTER = 'status = "published" && views > 100'
const LIST = `${POSTS}?filter=${encodeURIComponent(FILTER)}&sort=-views&perPage=20`

/** Runs `text` on the server's maintenance database (create and drop the bench database). */
export async function adminQuery(url, text) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** `url` with its database replaced by `database`. */
export function databaseUrl(url, database) {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/**
 * The bench schema and `records` posts in the database at `dbUrl`, written through the engine's
 * PostgreSQL store (migration files go to `migrationsDir`). Resolves with up to 1,000 ids spread
 * over the posts, for get by id.
 */
export async function seedPostgres({ dbUrl, migrationsDir, records }) {
  const store = await openPostgresStore({ url: dbUrl })
  const { engine, posts } = await createBenchSchema({ store, migrationsDir })
  const random = mulberry32(42)
  const sampleIds = []
  const every = Math.max(1, Math.floor(records / 1000))
  const base = Date.now() - records * 1000
  for (let done = 0; done < records; done += 5000) {
    const rows = []
    for (let k = done; k < Math.min(done + 5000, records); k++) {
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

/** wrk's Lua scripts (shared with cluster.js). */
export const wrkScripts = {
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

// wrk runs still going when the bench exits (an error, Ctrl-C) end with it.
const loads = new Set()
process.on('exit', () => {
  for (const child of loads) child.kill('SIGTERM')
})

/**
 * Runs wrk (1 thread) on `server.url` with `script`; resolves with its requests, non-2xx answers,
 * socket errors and p50 latency (ms).
 */
export function wrkLoad(server, script, seconds, token, connections) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script]
  args.push('-H', `Authorization: Bearer ${token}`, server.url)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    loads.add(child)
    child.once('exit', () => loads.delete(child))
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
async function run(server, script, token, { seconds, connections }) {
  await server.gc()
  const before = await server.stats()
  const result = await wrkLoad(server, script, seconds, token, connections)
  const after = await server.stats()
  const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  return {
    ...result,
    reqPerSec: (result.requests - result.non2xx) / seconds,
    cpuMicrosPerRequest: result.requests > 0 ? cpu / result.requests : null,
    gcMicrosPerRequest:
      result.requests > 0 ? ((after.gcMs - before.gcMs) * 1000) / result.requests : null,
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
const flagOf = (r) => (r.non2xx + r.errors > 0 ? ` !${r.non2xx}/${r.errors}` : '')

/**
 * Seeds a fresh database, starts the engine and the floor (and `BENCH_BASE`'s engine) on it,
 * checks that they answer alike, then loads each scenario round after round. Everything it
 * started or created is stopped and dropped before it returns or throws (and on Ctrl-C, through
 * `teardown.js`). Progress goes to `log`; `printPostgres` prints the table.
 */
export async function measurePostgres({ quick = false, only, log = console.log } = {}) {
  const settings = postgresSettings({ quick, only })
  const database = `er_bench_${randomBytes(6).toString('hex')}`
  const dbUrl = databaseUrl(settings.url, database)
  const dir = mkdtempSync(join(tmpdir(), 'engineroom-pgbench-'))
  const servers = []
  let created = false
  let cleaned
  const cleanup = () =>
    (cleaned ??= (async () => {
      await Promise.all(servers.map((server) => server.close()))
      if (created && env.BENCH_KEEP === '1') log(`kept ${dbUrl}`)
      else if (created) {
        await adminQuery(settings.url, `drop database if exists ${database} with (force)`).catch(
          (error) => console.error(`could not drop ${database}: ${error.message}`),
        )
      }
      rmSync(dir, { recursive: true, force: true })
    })())
  const untrack = onTeardown(cleanup)
  const result = {
    records: settings.records,
    seconds: settings.seconds,
    rounds: settings.rounds,
    connections: settings.connections,
    warnings: [],
    scenarios: [],
    flagged: false,
  }
  try {
    await adminQuery(settings.url, `create database ${database}`)
    created = true
    const started = performance.now()
    const sampleIds = await seedPostgres({
      dbUrl,
      migrationsDir: join(dir, 'migrations'),
      records: settings.records,
    })
    result.seedSeconds = (performance.now() - started) / 1000
    log(`PostgreSQL: seeded ${database} in ${result.seedSeconds.toFixed(1)} s`)

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
    result.floorListPlan = floor.info.listPlan
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
    result.base = Boolean(base)
    const measured = base ? [engine, floor, base] : [engine, floor]

    const scenarios = {
      get: {
        path: `${POSTS}/${sampleIds[7]}`,
        script: wrkScripts.paths(sampleIds.map((id) => `${POSTS}/${id}`)),
      },
      list: { path: LIST, script: wrkScripts.paths([LIST]) },
      create: {
        path: POSTS,
        body: { title: 'A check post', status: 'draft', views: 3 },
        script: wrkScripts.create(randomBytes(4).toString('hex')),
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
        result.warnings.push(`${name}: answers differ:\n  engine ${a}\n  floor  ${b}`)
        log(`WARNING ${result.warnings.at(-1)}`)
        result.flagged = true
      }
    }

    const load = { seconds: settings.seconds, connections: settings.connections }
    for (const name of settings.only) {
      const script = join(dir, `${name}.lua`)
      writeFileSync(script, scenarios[name].script)
      // Warm-up, not recorded: JIT, statement caches, the pool's connections.
      for (const server of measured) await wrkLoad(server, script, 2, token, settings.connections)
      const rounds = []
      for (let round = 1; round <= settings.rounds; round++) {
        const order = round % 2 ? measured : [...measured].reverse()
        const row = { round }
        for (const server of order) row[server.name] = await run(server, script, token, load)
        for (const server of measured) {
          if (row[server.name].non2xx + row[server.name].errors > 0) result.flagged = true
        }
        row.ratio = row.engine.reqPerSec / row.floor.reqPerSec
        if (row.base) row.baseRatio = row.base.reqPerSec / row.floor.reqPerSec
        rounds.push(row)
        log(
          `  postgres ${name.padEnd(6)} round ${round}: engine ${row.engine.reqPerSec.toFixed(0)} req/s` +
            `${flagOf(row.engine)}, floor ${row.floor.reqPerSec.toFixed(0)} req/s${flagOf(row.floor)}` +
            ` (${row.ratio.toFixed(2)}×)`,
        )
      }
      const cpu = (server) => median(rounds.map((r) => r[server].cpuMicrosPerRequest))
      const gc = (server) => median(rounds.map((r) => r[server].gcMicrosPerRequest))
      result.scenarios.push({
        name,
        rounds,
        medianRatio: median(rounds.map((r) => r.ratio)),
        medianCpu: { engine: cpu('engine'), floor: cpu('floor'), base: base ? cpu('base') : null },
        medianGc: { engine: gc('engine'), floor: gc('floor'), base: base ? gc('base') : null },
        medianBaseRatio: base ? median(rounds.map((r) => r.baseRatio)) : null,
      })
    }
    return result
  } finally {
    untrack()
    await cleanup()
  }
}

/** The per-round table and the median ratios, as the scenario has always printed them. */
export function printPostgres(result) {
  console.log(
    `\nEngine Room on PostgreSQL vs a Fastify + pg floor: ${result.records.toLocaleString('en')} ` +
      `posts, ${result.rounds} rounds of ${result.seconds} s, wrk ${result.connections} connections`,
  )
  if (result.floorListPlan) console.log(`floor list plan: ${result.floorListPlan.join(' / ')}`)
  for (const warning of result.warnings) console.log(`WARNING ${warning}`)
  const base = result.base
  console.log(
    '\nscenario  round  engine req/s  floor req/s  ratio  engine µs/req  floor µs/req' +
      (base ? '  base req/s  base ratio  base µs/req' : ''),
  )
  const summary = []
  for (const scenario of result.scenarios) {
    for (const row of scenario.rounds) {
      const baseColumns = row.base
        ? `  ${row.base.reqPerSec.toFixed(0).padStart(10)}${flagOf(row.base)}` +
          `  ${row.baseRatio.toFixed(2).padStart(10)}  ${row.base.cpuMicrosPerRequest.toFixed(0).padStart(11)}`
        : ''
      console.log(
        `${scenario.name.padEnd(9)} ${String(row.round).padStart(5)}  ${row.engine.reqPerSec.toFixed(0).padStart(12)}` +
          `${flagOf(row.engine)}  ${row.floor.reqPerSec.toFixed(0).padStart(11)}${flagOf(row.floor)}` +
          `  ${row.ratio.toFixed(2).padStart(5)}  ${row.engine.cpuMicrosPerRequest.toFixed(0).padStart(12)}` +
          `  ${row.floor.cpuMicrosPerRequest.toFixed(0).padStart(12)}${baseColumns}`,
      )
    }
    const { medianCpu, medianGc } = scenario
    summary.push(
      `${scenario.name.padEnd(9)} median ratio ${scenario.medianRatio.toFixed(2)}  ` +
        `(CPU µs/req engine ${medianCpu.engine.toFixed(0)}, floor ${medianCpu.floor.toFixed(0)}; ` +
        `GC pauses ${medianGc.engine.toFixed(0)}, ${medianGc.floor.toFixed(0)})` +
        (base
          ? `  base ${scenario.medianBaseRatio.toFixed(2)} (CPU µs/req ${medianCpu.base.toFixed(0)}, GC ${medianGc.base.toFixed(0)})`
          : ''),
    )
  }
  console.log(`\n${summary.join('\n')}`)
  if (result.flagged)
    console.log('\nFLAGGED: a non-2xx answer, a socket error or differing answers.')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  exitOnSignals()
  let failed = true
  try {
    // Run alone, `BENCH_ONLY` picks the scenarios (get,list,create), as it always has here.
    const result = await measurePostgres({ only: env.BENCH_PG_ONLY ?? env.BENCH_ONLY })
    printPostgres(result)
    failed = result.flagged
  } catch (error) {
    console.error(error)
  } finally {
    killChildren()
  }
  process.exit(failed ? 1 : 0)
}
