/**
 * `engineroom serve` as users start it: the built CLI in its own process (a cluster primary and
 * its workers with `--workers N`), measured from /proc. Used by the cold-start and the
 * 1-vs-N-worker scenarios; the other scenarios fork `engine-server.js` instead, which skips the
 * CLI but runs the same `buildServer`.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { YOUNG_GENERATION_FLAG } from '../dist/young-generation.js'

const here = dirname(fileURLToPath(import.meta.url))
const CLI = join(here, '..', 'dist', 'cli', 'main.js')
/**
 * Node's flags for a server, as `npm start` passes them: the young-generation cap (see
 * src/young-generation.ts). `BENCH_NODE_ARGS` replaces them (`BENCH_NODE_ARGS=` for Node's
 * defaults).
 */
export const SERVE_NODE_ARGS =
  process.env.BENCH_NODE_ARGS === undefined
    ? [YOUNG_GENERATION_FLAG]
    : process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean)
/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100
const running = new Set()

/** Kills every `serve` still running (the bench's exit path). */
export function killServes() {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL')
}

/**
 * Settings that keep the process a fair subject under load: no per-request info logs, and no
 * rate limiting or load shedding (autocannon from one address would trip them at once).
 */
const BENCH_ENV = {
  ER_LOG_LEVEL: 'warn',
  ER_RATE_LIMIT_READ: 'off',
  ER_RATE_LIMIT_WRITE: 'off',
  ER_RATE_LIMIT_AUTH: 'off',
  // The bench signs in as a superuser, whose budget class is its own (6000 reads/60 s by default).
  ER_RATE_LIMIT_SUPERUSER_READ: 'off',
  ER_RATE_LIMIT_SUPERUSER_WRITE: 'off',
  ER_SHED_EVENT_LOOP_DELAY: '0',
}

/** A free loopback port (the short race until the server binds it is acceptable for a bench). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** This process and its descendants (a cluster primary's workers), from /proc. */
function processTree(pid) {
  const pids = [pid]
  for (let i = 0; i < pids.length; i++) {
    try {
      const children = readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, 'utf8')
      for (const child of children.trim().split(/\s+/)) if (child) pids.push(Number(child))
    } catch {
      // The process ended between the two reads.
    }
  }
  return pids
}

function procStats(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)
    return {
      userMicros: (Number(fields[11]) * 1e6) / TICKS_PER_SECOND,
      systemMicros: (Number(fields[12]) * 1e6) / TICKS_PER_SECOND,
      rss: kb ? Number(kb[1]) * 1024 : 0,
    }
  } catch {
    return { userMicros: 0, systemMicros: 0, rss: 0 }
  }
}

/** CPU (µs) and RSS (bytes) summed over the process tree, shaped like `measure.js` expects. */
export function treeStats(pid) {
  const all = processTree(pid).map(procStats)
  const sum = (key) => all.reduce((total, s) => total + s[key], 0)
  return { cpu: { user: sum('userMicros'), system: sum('systemMicros') }, rss: sum('rss') }
}

async function waitForHealth(url, child, timeoutMs) {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`)
    try {
      const response = await fetch(`${url}/healthz`)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`serve did not answer /healthz within ${timeoutMs} ms`)
}

/**
 * Spawns `engineroom serve --dir <dir>` and resolves once `/healthz` answers, with the time that
 * took (spawn → first 200, so it includes node's start, module loading, migrations and, on a
 * fresh directory, creating the database, secret and signing keys). `env` adds to (and wins
 * over) the bench's settings: the cluster scenario passes DATABASE_URL, REDIS_URL and prefixes.
 */
export async function spawnServe({
  dir,
  workers = 1,
  timeoutMs = 30_000,
  nodeArgs = SERVE_NODE_ARGS,
  env = {},
}) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const args = [...nodeArgs, CLI, 'serve', '--dir', dir, '--http', `127.0.0.1:${port}`]
  if (workers > 1) args.push('--workers', String(workers))
  const started = performance.now()
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...BENCH_ENV, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  try {
    await waitForHealth(url, child, timeoutMs)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  const startMs = performance.now() - started
  return {
    name: workers > 1 ? `serve ${workers} workers` : 'serve 1 worker',
    // No single pid: measure.js then samples RSS through stats(), summed over the tree.
    pid: null,
    rootPid: child.pid,
    url,
    startMs,
    info: {},
    stats: async () => treeStats(child.pid),
    // The CLI has no GC hook; runs are long enough that a pending collection does not matter.
    gc: async () => {},
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill('SIGTERM')
      })
    },
  }
}
