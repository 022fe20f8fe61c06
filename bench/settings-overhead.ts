/**
 * What applying settings at run time costs a request: the CORS hook that is now always
 * registered (it asks the origins in force per request) and the rate limiter reading its
 * budgets per request, against a floor of the same Fastify route without either. Alternated
 * twice in one run; prints requests/s and the ratio to the floor.
 *
 *   node --import tsx bench/settings-overhead.ts          (BENCH_SECONDS=3 by default)
 */
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { registerRateLimit } from '../src/http/plugins/rate-limit.js'
import { registerSecurityHeaders } from '../src/http/plugins/security-headers.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const budgets = { read: { max: 1e9, windowMs: 60_000 }, write: null, auth: null }

async function serve(live: boolean) {
  const app = Fastify()
  if (live) {
    const origins: readonly string[] = ['https://app.example.com']
    await registerSecurityHeaders(app, { corsOrigins: () => origins })
    await registerRateLimit(app, {
      budgets,
      live: () => ({ budgets }),
      identifyCaller: async () => ({ subject: 'x', kind: 'user' }),
    })
  } else {
    await registerSecurityHeaders(app, {})
    await registerRateLimit(app, {
      budgets,
      identifyCaller: async () => ({ subject: 'x', kind: 'user' }),
    })
  }
  app.get('/item', async () => ({ id: 'a', title: 'hello' }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

async function measure(live: boolean): Promise<number> {
  const { app, url } = await serve(live)
  const result = await autocannon({ url: `${url}/item`, connections: 10, duration: seconds })
  await app.close()
  return result.requests.average
}

const rows: { run: string; floor: number; live: number }[] = []
for (let i = 0; i < 2; i++) {
  const floor = await measure(false)
  const live = await measure(true)
  rows.push({ run: `#${i + 1}`, floor: Math.round(floor), live: Math.round(live) })
}
for (const r of rows) {
  console.log(
    `${r.run}  static settings ${r.floor} req/s   live settings ${r.live} req/s   ratio ${(r.live / r.floor).toFixed(3)}`,
  )
}
