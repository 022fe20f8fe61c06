/**
 * Reads on every core: `engineroom serve` with one worker, then with `--workers N`, over the
 * seeded SQLite file (WAL), loaded with the get-by-id scenario. The ratio N ÷ 1 is the figure.
 * The load generator shares the machine: wrk when installed (see wrk.js for why), autocannon
 * otherwise, which on a 2-core machine takes most of a core from the N-worker server.
 */
import { measure } from './measure.js'
import { spawnServe } from './serve-process.js'
import { measureWithWrk, wrkAvailable } from './wrk.js'

export async function measureWorkers({
  dir,
  workers,
  scenario,
  paths,
  login,
  seconds,
  warmupSeconds,
  connections,
}) {
  const useWrk = wrkAvailable()
  if (!useWrk) console.log('  (wrk is not installed: autocannon loads the workers scenario)')
  const results = []
  for (const count of [1, workers]) {
    const server = await spawnServe({ dir, workers: count })
    try {
      const auth = { authorization: `Bearer ${await login(server)}` }
      const { name } = scenario(auth)
      const options = { seconds, warmupSeconds, connections }
      const result = useWrk
        ? await measureWithWrk(server, { ...options, name, paths, headers: auth, dir })
        : { ...(await measure(server, scenario(auth), options)), loadGenerator: 'autocannon' }
      result.flagged = result.non2xx + result.errors > 0
      result.workers = count
      results.push(result)
      console.log(
        `  ${name.padEnd(13)} ${server.name.padEnd(16)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s (${result.loadGenerator})`,
      )
    } finally {
      await server.close()
    }
  }
  const [one, many] = results
  many.ratio = many.reqPerSec / one.reqPerSec
  many.ratioAgainst = one.server
  return results
}
