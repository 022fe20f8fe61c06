/**
 * Cold start and idle memory of `engineroom serve`: spawned on a fresh, empty data directory,
 * timed until `/healthz` answers, then left idle for a moment and its RSS read from /proc.
 * Repeated a few times; the median is reported (the first start also warms the OS file cache).
 *
 * Two memory figures: 1 s after start, and once idle has settled. Start-up (module loading,
 * migrations) grows V8's young generation to its maximum; V8's memory reducer gives it back
 * after some seconds without allocation (about 15 s here). The settled figure is what a server
 * waiting for traffic holds; it is read from the last start, polled until it stops falling.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnServe } from './serve-process.js'

const IDLE_MS = 1000
const SETTLE_LIMIT_MS = 40_000
const SETTLE_POLL_MS = 2000

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

export async function measureColdStart({ dir, runs = 3 }) {
  const samples = []
  let settled = null
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(dir, 'cold-'))
    const server = await spawnServe({ dir: dataDir })
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    const { rss } = await server.stats()
    if (i === runs - 1) settled = await settledRss(server)
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
    samples.push({ startMs: server.startMs, idleRssMB: rss / (1024 * 1024) })
  }
  return {
    runs,
    startMs: median(samples.map((s) => s.startMs)),
    idleRssMB: median(samples.map((s) => s.idleRssMB)),
    settledRssMB: settled && settled.rss / (1024 * 1024),
    settledAfterMs: settled?.afterMs ?? null,
    samples,
  }
}

/** RSS once it has not fallen for two polls in a row (or at the limit), and when that was. */
async function settledRss(server) {
  const started = Date.now()
  let lowest = (await server.stats()).rss
  let lowestAt = 0
  let steady = 0
  while (Date.now() - started < SETTLE_LIMIT_MS && steady < 2) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS))
    const { rss } = await server.stats()
    // Below 1 MB less counts as no change: pages come and go by a few kB.
    if (rss < lowest - 1024 * 1024) {
      lowest = rss
      lowestAt = Date.now() - started
      steady = 0
    } else if (Date.now() - started > 20_000) steady++
  }
  return { rss: lowest, afterMs: IDLE_MS + lowestAt }
}
