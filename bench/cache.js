/**
 * The response cache's effect on hot reads, measured in one run against the raw floor:
 * the same hot list (filtered, and with an expanded relation) asked of the raw floor, of the
 * engine without the cache and of the engine with it (`ER_CACHE=true`, in-process LRU).
 * Prints req/s, each engine's ratio to the floor, CPU µs per request, and the cache's hit
 * ratio read from the cached engine's /metrics.
 *
 *   npm run build && node --expose-gc bench/cache.js
 *   npm run build && BENCH_ONLY=cache node --expose-gc bench/run.js   (within the full bench)
 *
 * Environment: BENCH_RECORDS (20,000 posts), BENCH_SECONDS (5), BENCH_CONNECTIONS (10). Within
 * run.js, BENCH_QUICK=1 makes it 10,000 posts and 2 s per run.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure, startServer } from './measure.js'
import { seed, SUPERUSER } from './seed.js'
import { SERVE_NODE_ARGS } from './serve-process.js'
import { exitOnSignals, onTeardown } from './teardown.js'

const here = dirname(fileURLToPath(import.meta.url))
const env = process.env
const POSTS = '/api/collections/posts/records'
const QUERY = new URLSearchParams({
  filter: 'status = "published" && views > 100',
  sort: '-views',
  perPage: '20',
}).toString()
const HOT = [
  ['hot filtered list', `${POSTS}?${QUERY}`],
  ['hot list + expand', `${POSTS}?${QUERY}&expand=writer`],
]

/** The cached engine's hit ratio from its Prometheus text. */
async function hitRatio(cached) {
  const text = await (await fetch(`${cached.url}/metrics`)).text()
  const count = (outcome) =>
    Number(
      new RegExp(`^er_response_cache_requests_total\\{outcome="${outcome}"\\} (\\S+)$`, 'm').exec(
        text,
      )?.[1] ?? 0,
    )
  const hits = count('hit')
  const misses = count('miss')
  return { hits, misses, ratio: hits + misses === 0 ? 0 : hits / (hits + misses) }
}

/**
 * Seeds a SQLite file, starts the floor and the two engines on it and loads each hot list on
 * each in turn. Its servers and directory are gone when it returns or throws.
 */
export async function measureCache({ quick = false, log = console.log } = {}) {
  const records = Number(env.BENCH_RECORDS ?? (quick ? 10_000 : 20_000))
  const settings = {
    seconds: Number(env.BENCH_SECONDS ?? (quick ? 2 : 5)),
    warmupSeconds: 1,
    connections: Number(env.BENCH_CONNECTIONS ?? 10),
  }
  const dir = mkdtempSync(join(tmpdir(), 'engineroom-cache-bench-'))
  const servers = []
  let cleaned
  const cleanup = () =>
    (cleaned ??= (async () => {
      await Promise.all(servers.map((server) => server.close()))
      rmSync(dir, { recursive: true, force: true })
    })())
  const untrack = onTeardown(cleanup)
  try {
    log(`Cache: seeding ${records.toLocaleString('en')} posts in ${dir}`)
    const seeded = await seed({ dir, count: records, log: () => {} })
    const migrationsDir = join(dir, 'migrations')
    const engine = await startServer(
      'engine',
      join(here, 'engine-server.js'),
      { file: seeded.engineFile, migrationsDir },
      SERVE_NODE_ARGS,
    )
    servers.push(engine)
    // A second engine process on the same file (only read here: WAL lets both): its own cache.
    const cached = await startServer(
      'engine + cache',
      join(here, 'engine-server.js'),
      { file: seeded.engineFile, migrationsDir, cache: true },
      SERVE_NODE_ARGS,
    )
    servers.push(cached)
    const response = await fetch(`${engine.url}/api/collections/_superusers/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SUPERUSER),
    })
    const { token } = await response.json()
    const floor = await startServer('floor', join(here, 'raw-floor.js'), {
      file: seeded.floorFile,
      token,
      secret: randomBytes(32).toString('base64url'),
    })
    servers.push(floor)
    const headers = { authorization: `Bearer ${token}` }

    const rows = []
    let flagged = false
    for (const [name, path] of HOT) {
      const scenario = { name, requests: () => [{ method: 'GET', path, headers }] }
      const results = {}
      for (const server of [floor, engine, cached]) {
        results[server.name] = await measure(server, scenario, settings)
        flagged ||= results[server.name].non2xx + results[server.name].errors > 0
      }
      const floorRate = results.floor.reqPerSec
      for (const server of [floor, engine, cached]) {
        const result = results[server.name]
        rows.push({
          scenario: name,
          server: server.name,
          'req/s': Math.round(result.reqPerSec),
          'vs floor': (result.reqPerSec / floorRate).toFixed(2),
          'CPU µs/req': result.cpuMicrosPerRequest?.toFixed(0) ?? '-',
          'p99 ms': result.latencyMs.p99?.toFixed(1) ?? '-',
        })
      }
      log(
        `  ${name}: floor ${Math.round(results.floor.reqPerSec)}, engine ` +
          `${Math.round(results.engine.reqPerSec)}, engine + cache ` +
          `${Math.round(results['engine + cache'].reqPerSec)} req/s`,
      )
    }
    return { records, ...settings, rows, hitRatio: await hitRatio(cached), flagged }
  } finally {
    untrack()
    await cleanup()
  }
}

export function printCache(result) {
  console.log(
    `\nResponse cache on hot lists (SQLite, ${result.records.toLocaleString('en')} posts, ` +
      `${result.seconds} s per run, ${result.connections} connections; vs floor = req/s ÷ the raw floor's)`,
  )
  console.table(result.rows)
  const ratio = result.hitRatio
  console.log(
    `engine + cache: hit ratio ${(ratio.ratio * 100).toFixed(2)} % (${ratio.hits} hits, ${ratio.misses} misses)`,
  )
  if (result.flagged) {
    console.error('Some responses were not 2xx or connections failed: the ratios are suspect.')
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  exitOnSignals()
  let failed = true
  try {
    const result = await measureCache()
    printCache(result)
    failed = result.flagged
  } catch (error) {
    console.error(error)
  }
  process.exit(failed ? 1 : 0)
}
