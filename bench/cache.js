/**
 * The response cache's effect on hot reads, measured in one run against the raw floor:
 * the same hot list (filtered, and with an expanded relation) asked of the raw floor, of the
 * engine without the cache and of the engine with it (`ER_CACHE=true`, in-process LRU).
 * Prints req/s, each engine's ratio to the floor, CPU µs per request, and the cache's hit
 * ratio read from the cached engine's /metrics.
 *
 *   npm run build && node --expose-gc bench/cache.js
 *
 * Environment: BENCH_RECORDS (20,000 posts), BENCH_SECONDS (5), BENCH_CONNECTIONS (10).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killChildren, measure, startServer } from './measure.js'
import { seed, SUPERUSER } from './seed.js'
import { SERVE_NODE_ARGS } from './serve-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const env = process.env
const records = Number(env.BENCH_RECORDS ?? 20_000)
const settings = {
  seconds: Number(env.BENCH_SECONDS ?? 5),
  warmupSeconds: 1,
  connections: Number(env.BENCH_CONNECTIONS ?? 10),
}
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

const dir = mkdtempSync(join(tmpdir(), 'engineroom-cache-bench-'))
const cleanup = () => {
  killChildren()
  rmSync(dir, { recursive: true, force: true })
}
process.once('exit', cleanup)
process.once('SIGINT', () => process.exit(130))

console.log(`Seeding ${records.toLocaleString('en')} posts in ${dir}`)
const seeded = await seed({ dir, count: records, log: () => {} })
const migrationsDir = join(dir, 'migrations')
const engine = await startServer(
  'engine',
  join(here, 'engine-server.js'),
  { file: seeded.engineFile, migrationsDir },
  SERVE_NODE_ARGS,
)
// A second engine process on the same file (only read here: WAL lets both): its own cache.
const cached = await startServer(
  'engine + cache',
  join(here, 'engine-server.js'),
  { file: seeded.engineFile, migrationsDir, cache: true },
  SERVE_NODE_ARGS,
)
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
const headers = { authorization: `Bearer ${token}` }

/** The cached engine's hit ratio from its Prometheus text. */
async function hitRatio() {
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
}
console.table(rows)
const ratio = await hitRatio()
console.log(
  `engine + cache: hit ratio ${(ratio.ratio * 100).toFixed(2)} % (${ratio.hits} hits, ${ratio.misses} misses)`,
)
if (flagged) {
  console.error('Some responses were not 2xx or connections failed: the ratios are suspect.')
  process.exitCode = 1
}
process.exit()
