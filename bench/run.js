/**
 * Engine Room against its raw floor, measured in one run (see bench/README.md).
 *
 *   npm run bench                              full run: 100,000 posts, 8 s per scenario
 *   BENCH_QUICK=1 node --expose-gc bench/run.js  2 s per scenario, 10,000 posts
 *
 * Environment: BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_RECORDS, BENCH_KEEP=1 (keep the data dir),
 * BENCH_ONLY (comma-separated scenario names to run), BENCH_LARGE=1 (the 1,000,000-record keyset
 * scenario), BENCH_WORKERS, BENCH_PROF=<dir> (CPU profile of the engine server); the PostgreSQL
 * and cluster scenarios also read BENCH_PG_URL, BENCH_ROUNDS, REDIS_URL and BENCH_CLUSTER_NODES.
 * See README.md.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureColdStart } from './cold-start.js'
import { measureFanout } from './fanout.js'
import { measureBackups, printBackups } from './backups.js'
import { measureFiles, printFiles } from './files.js'
import { measureGraphql } from './graphql.js'
import { measureJobs, printJobs } from './jobs.js'
import { measureLargeKeyset } from './large-keyset.js'
import { killChildren, measure, measureAgainst, startServer } from './measure.js'
import { measureCache, printCache } from './cache.js'
import { measureCluster, printCluster } from './cluster.js'
import { measurePostgres, printPostgres } from './postgres.js'
import { killServes, SERVE_NODE_ARGS } from './serve-process.js'
import { runTeardowns } from './teardown.js'
import { measureWorkers } from './workers.js'
import { BENCH_USER, seed, SUPERUSER } from './seed.js'

const here = dirname(fileURLToPath(import.meta.url))
const env = process.env
const quick = env.BENCH_QUICK === '1'
const settings = {
  quick,
  records: positive(env.BENCH_RECORDS, quick ? 10_000 : 100_000),
  seconds: positive(env.BENCH_SECONDS, quick ? 2 : 8),
  warmupSeconds: quick ? 1 : 2,
  connections: positive(env.BENCH_CONNECTIONS, 10),
  subscribers: positive(env.BENCH_SUBSCRIBERS, quick ? 200 : 1000),
  fanoutWrites: positive(env.BENCH_FANOUT_WRITES, quick ? 50 : 200),
  workers: positive(env.BENCH_WORKERS, 2),
  large: env.BENCH_LARGE === '1',
  largeRecords: positive(env.BENCH_LARGE_RECORDS, 1_000_000),
  only: env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((name) => name.trim().toLowerCase()) : null,
  profileDir: env.BENCH_PROF || null,
}

/**
 * Whether a scenario runs: all of them unless `BENCH_ONLY` names some (by substring, e.g.
 * `BENCH_ONLY=get,list`). Names: get by id, filtered list, create, request log, owner-rule list,
 * fanout, cold start, workers, files, jobs, backups, postgres, cache, cluster, large (which also
 * needs BENCH_LARGE=1).
 */
function selected(name) {
  return settings.only === null || settings.only.some((part) => name.includes(part))
}

const POSTS = '/api/collections/posts/records'
const LIST_QUERY = new URLSearchParams({
  filter: 'status = "published" && views > 100',
  sort: '-views',
  perPage: '20',
}).toString()
export const EXPAND_LIST = `${POSTS}?${LIST_QUERY}&expand=writer`
const deepPagePath = (cursor) => `${POSTS}?${LIST_QUERY}&cursor=${encodeURIComponent(cursor)}`

/**
 * Each server's cursor to the page after the last-but-one page of the filtered list: reached
 * once by offset (slow, not measured), then read by the cursor as a client paging deep would.
 */
async function deepCursor(server, auth, total) {
  const page = Math.max(1, Math.ceil(total / 20) - 2)
  const res = await fetch(`${server.url}${POSTS}?${LIST_QUERY}&page=${page}`, { headers: auth })
  const cursor = (await res.json()).nextCursor
  if (typeof cursor !== 'string') throw new Error(`${server.name}: no cursor at page ${page}`)
  return cursor
}

/** How many posts the list scenarios' filter matches (the engine counts; the floor does not). */
async function matching(server, auth) {
  const res = await fetch(`${server.url}${POSTS}?${LIST_QUERY}&count=true`, { headers: auth })
  return (await res.json()).totalItems
}

/**
 * The owner-rule pair: a user lists `posts` under `author = @request.auth.id`; the same server
 * answers the same page to a superuser (who bypasses rules) asking for it with an explicit
 * filter. Same SQL shape and rows, so the ratio is what evaluating the rule costs.
 */
const OWNER_LIST = `${POSTS}?${new URLSearchParams({ sort: '-created', perPage: '20' })}`
const OWNER_LIST_UNGUARDED = `${POSTS}?${new URLSearchParams({
  filter: `author = "${BENCH_USER.id}"`,
  sort: '-created',
  perPage: '20',
})}`

function ownerRuleScenario(path, headers) {
  return {
    name: 'owner-rule list',
    method: 'GET',
    path: () => path,
    requests: () => [{ method: 'GET', path, headers }],
  }
}

function positive(text, fallback) {
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`Expected a positive number, got "${text}"`)
  return value
}

/**
 * The paired scenarios, each a fresh autocannon request list (so both servers see the same
 * sequence). `deepCursors` holds each server's own cursor to a page near the end of the list.
 */
function scenarios(sampleIds, auth, deepCursors = {}) {
  const json = { ...auth, 'content-type': 'application/json' }
  let createCount = 0
  const runTag = randomBytes(4).toString('hex')
  return [
    {
      name: 'get by id',
      method: 'GET',
      path: () => `${POSTS}/${sampleIds[0]}`,
      requests: () => {
        let i = 0
        return [
          {
            method: 'GET',
            headers: auth,
            setupRequest: (request) => {
              // A stride that is coprime with the sample size visits every id in a scattered order.
              i = (i + 7919) % sampleIds.length
              request.path = `${POSTS}/${sampleIds[i]}`
              return request
            },
          },
        ]
      },
    },
    {
      name: 'filtered list',
      method: 'GET',
      path: () => `${POSTS}?${LIST_QUERY}`,
      requests: () => [{ method: 'GET', path: `${POSTS}?${LIST_QUERY}`, headers: auth }],
    },
    {
      name: 'deep page via cursor',
      method: 'GET',
      path: (server) => deepPagePath(deepCursors[server?.name ?? 'engine']),
      requests: (server) => [
        { method: 'GET', path: deepPagePath(deepCursors[server.name]), headers: auth },
      ],
    },
    {
      name: 'list + expand',
      method: 'GET',
      path: () => EXPAND_LIST,
      requests: () => [{ method: 'GET', path: EXPAND_LIST, headers: auth }],
    },
    {
      name: 'update',
      method: 'PATCH',
      path: () => `${POSTS}/${sampleIds[1]}`,
      body: () => ({ views: 1 }),
      requests: () => {
        let i = 0
        let n = 0
        return [
          {
            method: 'PATCH',
            headers: json,
            setupRequest: (request) => {
              i = (i + 7919) % sampleIds.length
              request.path = `${POSTS}/${sampleIds[i]}`
              request.body = JSON.stringify({ views: n++ % 1000 })
              return request
            },
          },
        ]
      },
    },
    {
      name: 'create',
      method: 'POST',
      path: () => POSTS,
      body: () => newPost(),
      requests: () => [
        {
          method: 'POST',
          path: POSTS,
          headers: json,
          setupRequest: (request) => {
            request.body = JSON.stringify(newPost())
            return request
          },
        },
      ],
    },
  ]

  /** Every create is unique: a per-run tag plus a counter. */
  function newPost() {
    const n = createCount++
    return {
      title: `Bench post ${runTag}-${n}`,
      status: n % 2 === 0 ? 'published' : 'draft',
      views: n % 1000,
    }
  }
}

/** The shape of a JSON value (keys and types, array lengths), to compare the two servers' answers. */
function shapeOf(value) {
  if (Array.isArray(value))
    return { array: value.length, of: value.length ? shapeOf(value[0]) : null }
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, shapeOf(value[key])]),
  )
}

async function sample(server, scenario, auth) {
  const body = scenario.body?.()
  const response = await fetch(server.url + scenario.path(server), {
    method: scenario.method,
    headers: body ? { ...auth, 'content-type': 'application/json' } : auth,
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = await response.json()
  return { status: response.status, shape: shapeOf(json), ids: json?.items?.map((item) => item.id) }
}

async function login(server, collection = '_superusers', credentials = SUPERUSER) {
  const response = await fetch(`${server.url}/api/collections/${collection}/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: credentials.identity, password: credentials.password }),
  })
  if (!response.ok) throw new Error(`Login failed: ${response.status} ${await response.text()}`)
  return (await response.json()).token
}

const fmt = (value, digits) => (value === null || value === undefined ? '-' : value.toFixed(digits))

function printTable(results) {
  const header = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'peak RSS MB',
    'CPU µs/req',
    'non-2xx/err',
    'ratio',
  ]
  const rows = results.map((r) => [
    r.scenario,
    r.loadGenerator === 'wrk' ? `${r.server} (wrk)` : r.server,
    fmt(r.reqPerSec, 0),
    fmt(r.latencyMs.p50, 2),
    fmt(r.latencyMs.p99, 2),
    fmt(r.peakRssMB, 0),
    fmt(r.cpuMicrosPerRequest, 0),
    r.flagged ? `! ${r.non2xx + r.errors}` : '0',
    r.ratio === undefined ? '' : `${fmt(r.ratio, 2)}x`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: here,
      encoding: 'utf8',
    }).trim()
  } catch {
    return null
  }
}

/**
 * The scenarios on the seeded SQLite file (the engine and the raw floor forked by this process,
 * `serve` over the same file): all but the PostgreSQL, cache, cluster, files, jobs and backups
 * ones, which bring their own data. With none of them selected, nothing is seeded.
 */
const SQLITE_SCENARIOS = [
  'get by id',
  'filtered list',
  'deep page via cursor',
  'list + expand',
  'update',
  'create',
  'request log',
  'owner-rule list',
  'graphql',
  'fanout',
  'workers',
]

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'engineroom-bench-'))
  const cleanup = () => {
    killChildren()
    if (env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', () => {
    killServes()
    cleanup()
  })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the servers, dropping the bench databases.`)
      void runTeardowns().finally(() => process.exit(130))
    })
  }

  const { seconds, records } = settings
  const warnings = []
  const needsSqlite = SQLITE_SCENARIOS.some(selected) || (settings.large && selected('large'))
  const sqlite = needsSqlite ? await measureSqlite(dir, warnings) : null
  const results = sqlite?.results ?? []
  const { fanout = null, large = null } = sqlite ?? {}

  const coldStart = selected('cold start') ? await measureColdStart({ dir }) : null
  // Uploads, downloads and thumbnails through `serve` against a bare node:http floor.
  const files = selected('files')
    ? await measureFiles({ quick, seconds, profileDir: settings.profileDir })
    : null
  // Jobs/s per queue adapter, webhook deliveries/s, a webhook's cost on writes (in process).
  const jobs = selected('jobs') ? await measureJobs({ quick }) : null
  // Backup, verify and restore MB/s against VACUUM INTO and a file copy; writes/s during backups.
  const backups = selected('backups') ? await measureBackups({ quick, seconds }) : null
  // The engine on PostgreSQL against a Fastify + pg floor (its own database, dropped after).
  const postgres = selected('postgres')
    ? await attempt('postgres', () => measurePostgres({ quick }))
    : null
  // A hot list with and without the response cache, against the raw floor.
  const cache = selected('cache') ? await attempt('cache', () => measureCache({ quick })) : null
  // 1 node vs N `serve` nodes on PostgreSQL + Redis behind nginx.
  const cluster = selected('cluster')
    ? await attempt('cluster', () => measureCluster({ quick }))
    : null

  console.log('')
  if (results.length > 0) {
    printTable(results)
    console.log('')
    printSummary({ fanout, coldStart, large, workers: settings.workers })
  } else if (coldStart) printSummary({ coldStart })
  if (files) printFiles(files)
  if (jobs) printJobs(jobs)
  if (backups) printBackups(backups)
  if (postgres && !postgres.error) printPostgres(postgres)
  if (cache && !cache.error) printCache(cache)
  if (cluster && !cluster.error) printCluster(cluster)
  const flagged = [...results, ...(fanout ? [fanout] : [])].filter((r) => r.flagged)
  for (const r of flagged.filter((x) => x !== fanout)) {
    console.log(
      `! ${r.scenario} / ${r.server}: ${r.non2xx} non-2xx responses, ${r.errors} errors ` +
        `(${r.timeouts} timeouts); status codes ${JSON.stringify(r.statusCodes)}`,
    )
  }
  const separate = { postgres, cache, cluster }
  for (const [name, result] of Object.entries(separate)) {
    if (result?.error) console.log(`! ${name}: failed: ${result.error}`)
    else if (result?.flagged) console.log(`! ${name}: flagged (see its table above)`)
  }
  const separateFlagged = Object.values(separate).some((r) => r?.error || r?.flagged)

  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const outDir = join(here, 'results')
  mkdirSync(outDir, { recursive: true })
  const outFile = join(outDir, `${stamp}.json`)
  const report = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    settings,
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      platform: process.platform,
    },
    seed: sqlite && { records, seconds: sqlite.seedSeconds },
    floorListPlan: sqlite?.floorListPlan,
    warnings,
    flagged: flagged.length > 0 || separateFlagged,
    results,
    fanout,
    coldStart,
    files,
    jobs,
    backups,
    postgres,
    cache,
    cluster,
    large: large && { ...large, results: undefined },
  }
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`Results: ${relative(process.cwd(), outFile)}`)

  if (flagged.length > 0 || warnings.length > 0 || separateFlagged) {
    console.log(
      'This run had errors or mismatched answers (flagged above); its ratios are suspect.',
    )
    process.exitCode = 1
  }
}

/**
 * Runs a scenario that brings its own servers and data; a failure is reported with the others'
 * results (as `{ error }`) instead of ending the whole run.
 */
async function attempt(name, measureScenario) {
  try {
    return await measureScenario()
  } catch (error) {
    console.error(`${name}:`, error)
    return { error: error?.message ?? String(error) }
  }
}

/**
 * Seeds the SQLite file, then runs the paired scenarios against the engine and the raw floor,
 * the request log, owner-rule, GraphQL, fan-out, `serve` workers and large-keyset scenarios
 * (those selected). The servers it starts are stopped before it returns.
 */
async function measureSqlite(dir, warnings) {
  const { seconds, warmupSeconds, connections, records } = settings
  const servers = []
  console.log(
    `Engine Room vs raw floor: ${records.toLocaleString('en')} posts, ${seconds} s per run ` +
      `(+${warmupSeconds} s warm-up), ${connections} connections, ${cpus().length} cores, node ${process.version}`,
  )
  console.log(`Seeding ${dir}`)
  const seeded = await seed({ dir, count: records })
  try {
    const engine = await startServer(
      'engine',
      join(here, 'engine-server.js'),
      { file: seeded.engineFile, migrationsDir: join(dir, 'migrations') },
      [
        // Node's flags as `npm start` passes them (the young-generation cap).
        ...SERVE_NODE_ARGS,
        // `BENCH_PROF=<dir>`: a .cpuprofile of the engine, written when it exits (open in DevTools).
        ...(settings.profileDir ? ['--cpu-prof', '--cpu-prof-dir', settings.profileDir] : []),
      ],
    )
    servers.push(engine)
    const token = await login(engine)
    const floor = await startServer('floor', join(here, 'raw-floor.js'), {
      file: seeded.floorFile,
      token,
      secret: randomBytes(32).toString('base64url'),
    })
    servers.push(floor)
    console.log(`engine pid ${engine.pid} at ${engine.url}, floor pid ${floor.pid} at ${floor.url}`)
    console.log(`floor list plan: ${floor.info.listPlan.join(' / ')}`)
    const auth = { authorization: `Bearer ${token}` }
    const total = await matching(engine, auth)
    const deepCursors = {
      engine: await deepCursor(engine, auth, total),
      floor: await deepCursor(floor, auth, total),
    }
    console.log(`deep page: ${total} posts match the list filter; the cursor points near the end`)
    const list = scenarios(seeded.sampleIds, auth, deepCursors).filter((scenario) =>
      selected(scenario.name),
    )
    for (const scenario of list) {
      const [a, b] = [await sample(engine, scenario, auth), await sample(floor, scenario, auth)]
      if (a.status !== b.status || JSON.stringify(a.shape) !== JSON.stringify(b.shape)) {
        warnings.push(
          `${scenario.name}: answers differ: engine ${a.status} ${JSON.stringify(a.shape)} / ` +
            `floor ${b.status} ${JSON.stringify(b.shape)}`,
        )
      } else if (JSON.stringify(a.ids) !== JSON.stringify(b.ids)) {
        warnings.push(`${scenario.name}: the servers list different records (${a.ids} / ${b.ids})`)
      }
    }
    for (const warning of warnings) console.log(`WARNING ${warning}`)

    const results = []
    for (const scenario of list) {
      const pair = {}
      for (const server of [engine, floor]) {
        const result = await measure(server, scenario, { seconds, warmupSeconds, connections })
        result.flagged = result.non2xx + result.errors > 0
        pair[server.name] = result
        results.push(result)
        console.log(
          `  ${scenario.name.padEnd(13)} ${server.name.padEnd(6)} ${fmt(result.reqPerSec, 0).padStart(6)} req/s` +
            (result.flagged ? `  ! ${result.non2xx} non-2xx, ${result.errors} errors` : ''),
        )
      }
      pair.engine.ratio = pair.engine.reqPerSec / pair.floor.reqPerSec
      pair.engine.p50Ratio = pair.engine.latencyMs.p50 / pair.floor.latencyMs.p50
    }

    if (selected('request log')) {
      results.push(
        ...(await measureRequestLog(seeded, dir, servers, { seconds, warmupSeconds, connections })),
      )
    }
    if (selected('owner-rule list'))
      results.push(...(await measureOwnerRule(engine, auth, warnings)))
    if (selected('graphql'))
      results.push(...(await measureGraphql(engine, auth, warnings, settings, EXPAND_LIST)))

    const fanout = selected('fanout')
      ? await measureFanout(engine, {
          token,
          subscribers: settings.subscribers,
          writes: settings.fanoutWrites,
        })
      : null
    if (fanout) fanout.flagged = fanout.delivered !== fanout.expected

    // `serve --workers N` over the same file, after the engine child has had its turn.
    const loadOptions = { seconds, warmupSeconds, connections }
    if (selected('workers')) {
      const getById = (headers) => scenarios(seeded.sampleIds, headers)[0]
      results.push(
        ...(await measureWorkers({
          dir: dirname(seeded.engineFile),
          workers: settings.workers,
          scenario: getById,
          paths: seeded.sampleIds.map((id) => `${POSTS}/${id}`),
          login: (server) => login(server),
          ...loadOptions,
        })),
      )
    }
    const large =
      settings.large && selected('large')
        ? await measureLargeKeyset({
            dir,
            records: settings.largeRecords,
            login: (server) => login(server),
            ...loadOptions,
          })
        : null
    if (large) results.push(...large.results)
    return {
      results,
      fanout,
      large,
      floorListPlan: floor.info.listPlan,
      seedSeconds: seeded.seedSeconds,
    }
  } finally {
    await Promise.all(servers.map((server) => server.close()))
  }
}

/**
 * Get by id with the request log on, as `serve` runs by default (one JSON line per request, in
 * 4 KB writes to a file here instead of stdout), against the same engine with it off.
 */
async function measureRequestLog(seeded, dir, servers, load) {
  const quiet = await startServer(
    'engine',
    join(here, 'engine-server.js'),
    {
      file: seeded.engineFile,
      migrationsDir: join(dir, 'migrations'),
    },
    SERVE_NODE_ARGS,
  )
  const logged = await startServer(
    'engine+log',
    join(here, 'engine-server.js'),
    {
      file: seeded.engineFile,
      migrationsDir: join(dir, 'migrations'),
      logFile: join(dir, 'requests.log'),
    },
    SERVE_NODE_ARGS,
  )
  servers.push(quiet, logged)
  const headers = { authorization: `Bearer ${await login(quiet)}` }
  const scenario = { ...scenarios(seeded.sampleIds, headers)[0], name: 'get (log on)' }
  const off = await measure(quiet, scenario, load)
  const on = await measure(logged, scenario, load)
  on.ratio = on.reqPerSec / off.reqPerSec
  console.log(
    `  request log   ${fmt(off.reqPerSec, 0)} req/s off, ${fmt(on.reqPerSec, 0)} req/s on ` +
      `(${fmt(on.ratio, 2)}× of off)`,
  )
  return [on]
}

/** Rule cost: the engine as a signed-in user under an owner rule, against itself unguarded. */
async function measureOwnerRule(engine, auth, warnings) {
  const userToken = await login(engine, 'users', BENCH_USER)
  const userAuth = { authorization: `Bearer ${userToken}` }
  const guarded = ownerRuleScenario(OWNER_LIST, userAuth)
  const unguarded = ownerRuleScenario(OWNER_LIST_UNGUARDED, auth)
  const [g, u] = [await sample(engine, guarded, userAuth), await sample(engine, unguarded, auth)]
  if (g.status !== 200 || JSON.stringify(g.ids) !== JSON.stringify(u.ids) || !g.ids?.length) {
    warnings.push(`owner-rule list: the guarded and unguarded lists differ (${g.ids} / ${u.ids})`)
    console.log(`WARNING ${warnings.at(-1)}`)
  }
  return measureAgainst(
    engine,
    [
      ['engine user+rule', guarded],
      ['engine superuser', unguarded],
    ],
    settings,
  )
}

function printSummary({ fanout, coldStart, large, workers }) {
  if (fanout) {
    console.log(
      `realtime fan-out (engine): ${fanout.subscribers} SSE subscribers × ${fanout.writes} writes: ` +
        `${fmt(fanout.eventsPerSec, 0)} delivered events/s, delivery p50 ${fmt(fanout.latencyMs.p50, 1)} ms ` +
        `p99 ${fmt(fanout.latencyMs.p99, 1)} ms, ${fmt(fanout.memoryPerSubscriberKB, 1)} KB server RSS per subscriber` +
        (fanout.flagged ? `  ! delivered ${fanout.delivered} of ${fanout.expected}` : ''),
    )
  }
  if (coldStart) {
    console.log(
      `cold start (engineroom serve, fresh data dir, median of ${coldStart.runs}): ` +
        `${fmt(coldStart.startMs, 0)} ms to /healthz, RSS ${fmt(coldStart.idleRssMB, 0)} MB 1 s after start, ` +
        `${fmt(coldStart.settledRssMB, 0)} MB once idle settled (${fmt(coldStart.settledAfterMs / 1000, 0)} s)`,
    )
  }
  if (large) {
    console.log(
      `keyset scale: ${large.records.toLocaleString('en')} posts imported in ` +
        `${fmt(large.importSeconds, 1)} s (${fmt(large.importPerSec, 0)} records/s)`,
    )
    for (const o of large.orders) {
      console.log(
        `  ${o.order}: first page p50 ${fmt(o.firstP50Ms, 2)} ms, last page p50 ${fmt(o.lastP50Ms, 2)} ms ` +
          `(last/first ${fmt(o.lastOverFirst, 2)}x); count=true p50 ${fmt(o.countP50Ms, 2)} ms ` +
          `(+${fmt(o.countCostMs, 2)} ms for the count)`,
      )
    }
  }
  console.log('Ratio column: Engine Room req/s ÷ raw floor req/s, same run (1.00 = no overhead);')
  console.log(
    '  owner-rule list: the rule-guarded list ÷ the same list unguarded;\n' +
      '  get (log on): with the request log on ÷ the same engine with it off;',
  )
  console.log(`  serve ${workers} workers: its req/s ÷ serve 1 worker's;`)
  console.log('  keyset last / count rows: their p50 latency ÷ the first page p50 (1.00 = flat).')
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
  killChildren()
})
