/**
 * The scale scenario (opt-in, `BENCH_LARGE=1`): a million posts loaded with the user-facing bulk
 * importer (`engineroom import`), then keyset paging measured at both ends of two orders:
 * - `id order`: no filter, the default order (by id);
 * - `filtered`: the main bench's list, `status = "published" && views > 100`, sorted `-views`.
 * For each: the first page, the last page (reached by walking the cursor to the end) and the
 * first page with `count=true`, 20 per page. Flat keyset paging means last ÷ first ≈ 1; the
 * count is reported on its own because it scans every match, whatever the page.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure, startServer } from './measure.js'
import { createBenchSchema, mulberry32 } from './seed.js'

const here = dirname(fileURLToPath(import.meta.url))
const POSTS = '/api/collections/posts/records'
const WALK_PAGE = 500
const PAGE = 20

const ORDERS = [
  { name: 'id order', params: {} },
  {
    name: 'filtered',
    params: { filter: 'status = "published" && views > 100', sort: '-views' },
  },
]

/** Writes `count` posts as JSON Lines, with the main seed's distribution. */
async function writePosts(file, count) {
  const out = createWriteStream(file)
  const random = mulberry32(7)
  const chunk = 10_000
  for (let start = 0; start < count; start += chunk) {
    let text = ''
    for (let k = start; k < Math.min(count, start + chunk); k++) {
      const post = {
        title: `Imported post number ${k}`,
        status: random() < 0.5 ? 'published' : 'draft',
        views: Math.floor(random() ** 3 * 1000),
      }
      if (k % 3 !== 0) post.author = `author-${k % 97}`
      text += `${JSON.stringify(post)}\n`
    }
    if (!out.write(text)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Runs `engineroom import` and resolves with its wall time in seconds. */
async function runImport(dir, file) {
  const started = performance.now()
  const cli = join(here, '..', 'dist', 'cli', 'main.js')
  const child = spawn(
    process.execPath,
    [cli, 'import', 'posts', file, '--dir', dir, '--batch', '5000'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`engineroom import exited with ${code}`)
  return (performance.now() - started) / 1000
}

const listPath = (params) => `${POSTS}?${new URLSearchParams(params)}`

async function getJson(server, path, auth) {
  const response = await fetch(server.url + path, { headers: auth })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return response.json()
}

/**
 * Follows the cursor to the end: in big pages first (the cursor does not depend on the page
 * size), then in 20s from the start of the last big page. Returns the cursor that opens the
 * last 20-record page (undefined when the first page is also the last).
 */
async function walkToLastPage(server, params, auth) {
  const started = performance.now()
  let start
  let requests = 0
  let rowsBefore = 0
  for (const perPage of [WALK_PAGE, PAGE]) {
    for (;;) {
      const query = { ...params, perPage: String(perPage), ...(start ? { cursor: start } : {}) }
      const page = await getJson(server, listPath(query), auth)
      requests++
      // No next cursor: this page, which opens at `start`, is the last at this size.
      if (!page.nextCursor) break
      rowsBefore += page.items.length
      start = page.nextCursor
    }
  }
  return { cursor: start, requests, rowsBefore, seconds: (performance.now() - started) / 1000 }
}

function fixedScenario(name, path, auth) {
  return {
    name,
    method: 'GET',
    path: () => path,
    requests: () => [{ method: 'GET', path, headers: auth }],
  }
}

/**
 * Builds `<dir>/large` with `records` posts and measures it. `login(server)` returns a
 * superuser token. Returns `{ records, import, results, orders }`.
 */
export async function measureLargeKeyset({
  dir,
  records,
  login,
  seconds,
  warmupSeconds,
  connections,
}) {
  const dataDir = join(dir, 'large')
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'data.db')
  const { engine } = await createBenchSchema({ file, migrationsDir: join(dataDir, 'migrations') })
  await engine.close()
  const jsonl = join(dir, 'large-posts.jsonl')
  console.log(`Writing ${records.toLocaleString('en')} posts to ${jsonl}`)
  await writePosts(jsonl, records)
  const importSeconds = await runImport(dataDir, jsonl)
  console.log(`  imported in ${importSeconds.toFixed(1)} s`)

  const server = await startServer('engine large', join(here, 'engine-server.js'), {
    file,
    migrationsDir: join(dataDir, 'migrations'),
  })
  const results = []
  const orders = []
  try {
    const auth = { authorization: `Bearer ${await login(server)}` }
    for (const order of ORDERS) {
      const walk = await walkToLastPage(server, order.params, auth)
      console.log(
        `  ${order.name}: walked ${walk.rowsBefore.toLocaleString('en')} records in ` +
          `${walk.requests} requests (${walk.seconds.toFixed(1)} s)`,
      )
      const first = listPath({ ...order.params, perPage: String(PAGE) })
      const last = listPath({
        ...order.params,
        perPage: String(PAGE),
        ...(walk.cursor ? { cursor: walk.cursor } : {}),
      })
      const counted = listPath({ ...order.params, perPage: String(PAGE), count: 'true' })
      const measured = {}
      for (const [key, path] of [
        ['first', first],
        ['last', last],
        ['count', counted],
      ]) {
        const scenario = fixedScenario(`keyset ${order.name}: ${key}`, path, auth)
        const result = await measure(server, scenario, { seconds, warmupSeconds, connections })
        result.flagged = result.non2xx + result.errors > 0
        measured[key] = result
        results.push(result)
      }
      measured.last.ratio = measured.last.latencyMs.p50 / measured.first.latencyMs.p50
      measured.last.ratioAgainst = 'first page p50 latency'
      measured.count.ratio = measured.count.latencyMs.p50 / measured.first.latencyMs.p50
      measured.count.ratioAgainst = 'first page p50 latency'
      orders.push({
        order: order.name,
        params: order.params,
        walk,
        firstP50Ms: measured.first.latencyMs.p50,
        lastP50Ms: measured.last.latencyMs.p50,
        lastOverFirst: measured.last.ratio,
        countP50Ms: measured.count.latencyMs.p50,
        countCostMs: measured.count.latencyMs.p50 - measured.first.latencyMs.p50,
      })
    }
  } finally {
    await server.close()
  }
  return { records, importSeconds, importPerSec: records / importSeconds, results, orders }
}
