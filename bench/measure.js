/**
 * Measuring tools: server children (fork, ready, CPU/RSS), and one autocannon run with its own
 * sub-millisecond latency record (autocannon's histogram only keeps whole milliseconds).
 */
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers'
import autocannon from 'autocannon'

const children = new Set()

/** Kills every server child still running (SIGTERM, then SIGKILL after a grace period). */
export function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }, 1000).unref()
    }
  }
}

/** Forks `script`, sends it `options` and resolves once it listens, with a handle to measure it. */
export async function startServer(name, script, options, execArgv = []) {
  const child = fork(script, [], {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message.type === 'failed')
          done(reject, new Error(`${name} failed:\n${message.message}`))
        else if (message.type === type) done(resolve, message)
      }
      const onExit = (code, signal) => done(reject, new Error(`${name} exited (${code ?? signal})`))
      const done = (settle, value) => {
        child.off('message', onMessage)
        child.off('exit', onExit)
        settle(value)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  const ready = next('ready')
  child.send({ type: 'start', ...options })
  const { port, info } = await ready
  return {
    name,
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    info,
    async stats() {
      const reply = next('stats')
      child.send({ type: 'stats' })
      return reply
    },
    async gc() {
      const reply = next('gc')
      child.send({ type: 'gc' })
      await reply
    },
    /** Stops the child and resolves once it has exited (SIGKILL after two seconds). */
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill('SIGTERM')
      })
    },
  }
}

/** Resident set size of a process in bytes, from /proc (Linux); undefined elsewhere. */
function procRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)
    return kb ? Number(kb[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples a server's RSS every 100 ms (from /proc, or by asking the child) and keeps the peak. */
export function rssSampler(server) {
  let peak = 0
  let busy = false
  const sample = async () => {
    if (busy) return
    busy = true
    try {
      const rss = procRss(server.pid) ?? (await server.stats()).rss
      peak = Math.max(peak, rss)
    } finally {
      busy = false
    }
  }
  void sample()
  const timer = setInterval(() => void sample().catch(() => {}), 100)
  return {
    async stop() {
      clearInterval(timer)
      await sample().catch(() => {})
      return peak
    },
  }
}

/** A growable list of float latencies (ms). */
function latencyLog() {
  let values = new Float64Array(1 << 16)
  let length = 0
  return {
    push(value) {
      if (length === values.length) {
        const grown = new Float64Array(values.length * 2)
        grown.set(values)
        values = grown
      }
      values[length++] = value
    },
    percentiles(...ps) {
      const sorted = values.slice(0, length).sort()
      return ps.map((p) =>
        length === 0 ? null : sorted[Math.min(length - 1, Math.ceil((p / 100) * length) - 1)],
      )
    },
  }
}

function runAutocannon(options, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) =>
      error ? reject(error) : resolve(result),
    )
    if (onResponse) instance.on('response', onResponse)
  })
}

/**
 * Loads `server` with `scenario.requests` for `seconds`, after a warm-up that is not recorded.
 * Returns throughput, latency percentiles (2xx only), error counts, peak RSS and CPU per request.
 */
export async function measure(server, scenario, { seconds, warmupSeconds, connections, headers }) {
  const base = { url: server.url, connections, headers, pipelining: 1 }
  await server.gc()
  const rss = rssSampler(server)
  await runAutocannon({ ...base, duration: warmupSeconds, requests: scenario.requests(server) })
  const latencies = latencyLog()
  const before = await server.stats()
  const started = performance.now()
  const result = await runAutocannon(
    { ...base, duration: seconds, requests: scenario.requests(server) },
    (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    },
  )
  const elapsed = (performance.now() - started) / 1000
  const after = await server.stats()
  const peakRss = await rss.stop()
  const ok = result['2xx']
  const cpuMicros = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  const [p50, p99] = latencies.percentiles(50, 99)
  return {
    scenario: scenario.name,
    server: server.name,
    seconds: result.duration,
    requests: result.requests.total,
    ok,
    reqPerSec: ok / result.duration,
    latencyMs: {
      p50,
      p99,
      mean: result.latency.mean,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    peakRssMB: peakRss / (1024 * 1024),
    cpuMicrosPerRequest: result.requests.total > 0 ? cpuMicros / result.requests.total : null,
    serverCpuPercent: (cpuMicros / 1e6 / elapsed) * 100,
  }
}

/**
 * Measures scenarios on one engine under different names (the rule-guarded list against the
 * unguarded one, GraphQL against REST), and gives the first the ratio of its req/s to the
 * second's. Returns both results.
 */
export async function measureAgainst(engine, [[name, scenario], [baseName, base]], settings) {
  const { seconds, warmupSeconds, connections } = settings
  const results = []
  for (const [serverName, s] of [
    [name, scenario],
    [baseName, base],
  ]) {
    const result = await measure({ ...engine, name: serverName }, s, {
      seconds,
      warmupSeconds,
      connections,
    })
    result.flagged = result.non2xx + result.errors > 0
    results.push(result)
    console.log(
      `  ${s.name} ${serverName.padEnd(19)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s`,
    )
  }
  const [first, second] = results
  first.ratio = first.reqPerSec / second.reqPerSec
  first.ratioAgainst = baseName
  return results
}
