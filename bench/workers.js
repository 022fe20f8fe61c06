/**
 * Reads on every core: `engineroom serve` with one worker, then with `--workers N`, over the
 * seeded SQLite file (WAL), loaded with the get-by-id scenario. The ratio N ÷ 1 is the figure;
 * the load generator runs in this process and takes a core of its own, so on a 2-core machine
 * the N-worker server competes with it for the second core.
 */
import { measure } from './measure.js'
import { spawnServe } from './serve-process.js'

export async function measureWorkers({
  dir,
  workers,
  scenario,
  login,
  seconds,
  warmupSeconds,
  connections,
}) {
  const results = []
  for (const count of [1, workers]) {
    const server = await spawnServe({ dir, workers: count })
    try {
      const auth = { authorization: `Bearer ${await login(server)}` }
      const result = await measure(server, scenario(auth), { seconds, warmupSeconds, connections })
      result.flagged = result.non2xx + result.errors > 0
      result.workers = count
      results.push(result)
      console.log(
        `  ${scenario(auth).name.padEnd(13)} ${server.name.padEnd(16)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s`,
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
