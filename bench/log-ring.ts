/**
 * Cost of keeping log lines for the dashboard's log viewer, measured in one run: pino writes the
 * same request line with the server's logger options (redaction paths and the scrubbing pass)
 * into a stream that discards it, first as the floor (no ring), then with `onLine` pushing into
 * the 1000-line ring; alternated twice. Prints lines/s and the ratio ring / floor.
 *
 *   node --import tsx bench/log-ring.ts          (BENCH_LINES=50000 by default)
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { createLogRing } from '../src/http/ops/log-ring.js'
import { loggerOptions } from '../src/http/plugins/logger-options.js'

const lines = Number(process.env.BENCH_LINES ?? 50_000)
const sink = new Writable({
  write(_chunk, _encoding, done) {
    done()
  },
})
const request = {
  method: 'GET',
  path: '/api/collections/posts/records/01m8y2h4mdne9hm1mjfv',
  route: '/api/collections/:name/records/:id',
  status: 200,
  durationMs: 1.23,
  userId: '01m8y2h4mdne9hm1mjfv',
  userCollection: 'users',
}

function run(withRing: boolean): number {
  const ring = createLogRing()
  // Fastify takes `stream` inside the options; pino itself takes it as the second argument.
  const { stream: _stream, ...options } = loggerOptions({
    level: 'info',
    ...(withRing ? { onLine: ring.push } : {}),
  })
  const logger = pino(options, sink).child({ reqId: '6b549d50-ebc6-4395-9288-e612892e7061' })
  const start = process.hrtime.bigint()
  for (let i = 0; i < lines; i++) logger.info(request, 'request')
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return lines / seconds
}

run(false) // warm-up
run(true)
const floor: number[] = []
const ring: number[] = []
for (let round = 0; round < 2; round++) {
  floor.push(run(false))
  ring.push(run(true))
}
const best = (xs: number[]) => Math.max(...xs)
console.log(`floor (no ring): ${Math.round(best(floor))} lines/s`)
console.log(`with log ring:   ${Math.round(best(ring))} lines/s`)
console.log(`ratio ring/floor: ${(best(ring) / best(floor)).toFixed(3)}`)
