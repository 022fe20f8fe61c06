/**
 * Cold start and idle memory of `engineroom serve`: spawned on a fresh, empty data directory,
 * timed until `/healthz` answers, then left idle for a moment and its RSS read from /proc.
 * Repeated a few times; the median is reported (the first start also warms the OS file cache).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnServe } from './serve-process.js'

const IDLE_MS = 1000

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

export async function measureColdStart({ dir, runs = 3 }) {
  const samples = []
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(dir, 'cold-'))
    const server = await spawnServe({ dir: dataDir })
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    const { rss } = await server.stats()
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
    samples.push({ startMs: server.startMs, idleRssMB: rss / (1024 * 1024) })
  }
  return {
    runs,
    startMs: median(samples.map((s) => s.startMs)),
    idleRssMB: median(samples.map((s) => s.idleRssMB)),
    samples,
  }
}
