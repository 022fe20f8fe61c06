/**
 * wrk (Debian's `wrk` package) as the load generator for the 1-vs-N-worker scenario, when it is
 * installed. On a 2-core machine the load generator shares the cores with the server it loads:
 * autocannon, in this Node process, costs about as much CPU per request as the server does, so
 * a second worker mostly competes with it (the server can double only what the generator
 * leaves). wrk costs a fraction of that, so the ratio it gives is closer to the server's own
 * scaling. `BENCH_WRK=0` keeps autocannon.
 */
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rssSampler } from './measure.js'

export function wrkAvailable() {
  if (process.env.BENCH_WRK === '0') return false
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' })
  return !probe.error && /wrk/.test(`${probe.stdout}${probe.stderr}`)
}

/**
 * A Lua script that requests `paths` in a scattered order, like the autocannon scenario. The
 * requests are formatted once, in `init`: formatting one per request cost wrk more CPU than
 * sending it, CPU the server under test would otherwise have.
 */
function pathScript(dir, paths) {
  const file = join(dir, 'bench-paths.lua')
  const list = paths.map((p) => JSON.stringify(p)).join(',\n')
  writeFileSync(
    file,
    `local paths = {\n${list}\n}\nlocal requests = {}\nlocal i = 0\n` +
      `init = function(args)\n  for k, path in ipairs(paths) do requests[k] = wrk.format("GET", path) end\nend\n` +
      `request = function()\n  i = (i + 7919) % #requests\n  return requests[i + 1]\nend\n`,
  )
  return file
}

function runWrk(url, script, { seconds, connections, headers }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script]
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [...args, url], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}: ${out}`)),
    )
  })
}

const MS = { us: 0.001, ms: 1, s: 1000 }
function latencyMs(out, label) {
  const match = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out)
  return match ? Number(match[1]) * MS[match[2]] : null
}

/** Loads `server` with GET `paths`; the result has the shape `measure.js` returns. */
export async function measureWithWrk(
  server,
  { name, paths, headers, dir, seconds, warmupSeconds, connections },
) {
  const script = pathScript(dir, paths)
  await runWrk(server.url, script, { seconds: warmupSeconds, connections, headers })
  const rss = rssSampler(server)
  const before = await server.stats()
  const started = performance.now()
  const out = await runWrk(server.url, script, { seconds, connections, headers })
  const elapsed = (performance.now() - started) / 1000
  const after = await server.stats()
  const peakRss = await rss.stop()
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0
  const cpuMicros = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
  return {
    scenario: name,
    server: server.name,
    loadGenerator: 'wrk',
    seconds,
    requests: total,
    ok: total - non2xx,
    reqPerSec: (total - non2xx) / seconds,
    latencyMs: { p50: latencyMs(out, '50%'), p99: latencyMs(out, '99%'), mean: null, max: null },
    non2xx,
    errors,
    timeouts: socket ? Number(socket[4]) : 0,
    peakRssMB: peakRss / (1024 * 1024),
    cpuMicrosPerRequest: total > 0 ? cpuMicros / total : null,
    serverCpuPercent: (cpuMicros / 1e6 / elapsed) * 100,
  }
}
