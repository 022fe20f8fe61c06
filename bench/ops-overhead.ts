/**
 * Cost of tracing per request, measured in one run: the same engine and request (GET one record
 * by id, superuser token) served with tracing off, then on (every span recorded and batched to
 * an exporter that drops them), alternated twice. Prints requests/s and the ratio.
 *
 *   node --import tsx bench/ops-overhead.ts          (BENCH_SECONDS=3 by default)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { openSqliteStore } from '../src/adapters/store/sqlite/sqlite-store.js'
import { startTracing } from '../src/adapters/telemetry/otel-tracing.js'
import { createQueryTracer } from '../src/adapters/telemetry/trace-queries.js'
import { createMetrics } from '../src/http/ops/metrics.js'
import { buildServer } from '../src/http/server.js'
import { createArgon2Hasher } from '../src/services/auth/password-hasher.js'
import { cliContext } from '../src/services/context.js'
import { createEngine } from '../src/services/create-engine.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const dropAll: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
}
startTracing({ serviceName: 'bench', processors: [new BatchSpanProcessor(dropAll)] })
const traceQuery = createQueryTracer('sqlite')

async function serve(tracing: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-'))
  const metrics = createMetrics()
  const store = await openSqliteStore({
    file: join(dir, 'data.db'),
    onQuery: tracing ? (e) => (metrics.observeQuery(e), traceQuery(e)) : metrics.observeQuery,
  })
  const engine = await createEngine({
    store,
    migrationsDir: join(dir, 'migrations'),
    passwords: createArgon2Hasher({ memoryCost: 1024, timeCost: 1 }),
  })
  const su = cliContext(engine.registry.get('_superusers'))
  await engine.schema.createCollection(su, {
    name: 'posts',
    fields: [{ name: 'title', type: 'text' }],
  })
  const post = await engine.records.create(su, 'posts', { title: 'hello' })
  await engine.records.create(su, '_superusers', {
    email: 'b@example.com',
    password: 'bench password',
  })
  const signedIn = await engine.auth.loginWithPassword('_superusers', {
    identity: 'b@example.com',
    password: 'bench password',
  })
  if (!('token' in signedIn)) throw new Error('the bench superuser has MFA on')
  const { token } = signedIn
  const app = await buildServer(engine, { metrics, tracing })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    url: `${url}/api/collections/posts/records/${post.id as string}`,
    token,
    close: async () => {
      await app.close()
      await engine.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function rate(tracing: boolean): Promise<number> {
  const server = await serve(tracing)
  const result = await autocannon({
    url: server.url,
    connections: 10,
    duration: seconds,
    headers: { authorization: `Bearer ${server.token}` },
  })
  await server.close()
  if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers`)
  return result.requests.average
}

const off: number[] = []
const on: number[] = []
for (let round = 0; round < 2; round++) {
  off.push(await rate(false))
  on.push(await rate(true))
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
console.log(
  `tracing off: ${mean(off).toFixed(0)} req/s  (${off.map((x) => x.toFixed(0)).join(', ')})`,
)
console.log(
  `tracing on:  ${mean(on).toFixed(0)} req/s  (${on.map((x) => x.toFixed(0)).join(', ')})`,
)
console.log(`on/off: ${(mean(on) / mean(off)).toFixed(2)}`)
process.exit(0)
