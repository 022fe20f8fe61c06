/**
 * Tracing: a `traceparent` from the caller becomes the parent of the server span, which parents
 * the service call, which parents each SQL statement; the trace id is in the request's log line.
 */
import { Writable } from 'node:stream'
import { context, propagation, trace } from '@opentelemetry/api'
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startTracing } from '../../src/adapters/telemetry/otel-tracing.js'
import { createQueryTracer } from '../../src/adapters/telemetry/trace-queries.js'
import { loggerOptions } from '../../src/http/plugins/logger-options.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const exporter = new InMemorySpanExporter()
const tracing = startTracing({
  serviceName: 'engineroom-test',
  processors: [new SimpleSpanProcessor(exporter)],
})
const engines: TestEngine[] = []
afterEach(async () => {
  for (const t of engines.splice(0)) await t.close()
})
afterAll(async () => {
  await tracing.shutdown()
  trace.disable()
  context.disable()
  propagation.disable()
})

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)
}

describe.each(await availableDialects())('tracing on %s', (dialect) => {
  it('builds the span tree request → service → SQL under the caller’s trace', async () => {
    const lines: string[] = []
    const t = await createTestEngine(dialect, {
      tracing: true,
      onQuery: createQueryTracer(dialect === 'sqlite' ? 'sqlite' : 'postgresql'),
      logger: loggerOptions({
        level: 'info',
        stream: new Writable({
          write(chunk: Buffer, _encoding, callback) {
            lines.push(chunk.toString())
            callback()
          },
        }),
      }),
    })
    engines.push(t)
    await createCollection(t, { name: 'posts', fields: [{ name: 'title', type: 'text' }] })
    exporter.reset()

    const res = await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title: 'traced' },
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    })
    expect(res.statusCode, res.body).toBe(201)

    const spans = exporter.getFinishedSpans()
    const server = spans.find((s) => s.name === 'POST /api/collections/:name/records')
    expect(server, spans.map((s) => s.name).join(', ')).toBeDefined()
    if (!server) return
    expect(server.spanContext().traceId).toBe(TRACE_ID)
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN)
    expect(server.attributes).toMatchObject({
      'http.route': '/api/collections/:name/records',
      'http.response.status_code': 201,
    })

    const service = childrenOf(spans, server).find((s) => s.name === 'records.create')
    expect(
      service,
      childrenOf(spans, server)
        .map((s) => s.name)
        .join(', '),
    ).toBeDefined()
    if (!service) return
    const statements = childrenOf(spans, service)
    expect(statements.some((s) => s.name === 'INSERT')).toBe(true)
    for (const statement of statements) {
      expect(String(statement.attributes['db.query.text'])).not.toContain('traced')
    }
    // Every span of the request belongs to the caller's trace.
    expect(spans.every((s) => s.spanContext().traceId === TRACE_ID)).toBe(true)

    const line = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'request' && l.path === '/api/collections/posts/records')
    expect(line).toMatchObject({ traceId: TRACE_ID, spanId: server.spanContext().spanId })
  })

  it('starts a new trace when the caller sends none, and answers without tracing when off', async () => {
    const t = await createTestEngine(dialect, { tracing: true })
    engines.push(t)
    exporter.reset()
    await t.call({ method: 'GET', url: '/api/collections' })
    const server = exporter.getFinishedSpans().find((s) => s.name === 'GET /api/collections')
    expect(server?.parentSpanContext).toBeUndefined()
    expect(server?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/)

    const off = await createTestEngine(dialect)
    engines.push(off)
    exporter.reset()
    await off.call({ method: 'GET', url: '/api/collections' })
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('GET'))).toHaveLength(0)
  })
})
