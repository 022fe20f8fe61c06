/**
 * `/metrics`: valid Prometheus text that parses back, request histograms labelled by route
 * template (never by raw ids), store query timings, process metrics, and who may scrape.
 */
import { spawnSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/http/ops/metrics.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { parsePrometheusText } from '../helpers/prometheus-text.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const engines: TestEngine[] = []
afterEach(async () => {
  for (const t of engines.splice(0)) await t.close()
})

const promtool = spawnSync('promtool', ['--version']).status === 0

describe.each(await availableDialects())('metrics on %s', (dialect) => {
  it('serve parseable text with route templates, store timings and process metrics', async () => {
    const metrics = createMetrics({ processMetrics: true })
    const t = await createTestEngine(dialect, { metrics, onQuery: metrics.observeQuery })
    engines.push(t)
    await createCollection(t, { name: 'posts', fields: [{ name: 'title', type: 'text' }] })
    const record = await createRecord(t, 'posts', { title: 'hello' })
    const id = record.id as string
    expect(
      (await t.call({ method: 'GET', url: `/api/collections/posts/records/${id}` })).statusCode,
    ).toBe(200)
    expect(
      (await t.call({ method: 'GET', url: '/api/collections/posts/records/nope' })).statusCode,
    ).toBe(404)
    expect((await t.call({ method: 'GET', url: `/no/such/${id}` })).statusCode).toBe(404)

    const res = await t.call({ method: 'GET', url: '/metrics', anonymous: true })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const { samples, types } = parsePrometheusText(res.body)

    expect(types.get('er_http_request_duration_seconds')).toBe('histogram')
    expect(types.get('er_store_query_duration_seconds')).toBe('histogram')
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge')
    expect(types.get('process_resident_memory_bytes')).toBe('gauge')

    const byRoute = samples.filter((s) => s.name === 'er_http_request_duration_seconds_count')
    expect(byRoute).toContainEqual({
      name: 'er_http_request_duration_seconds_count',
      labels: { method: 'GET', route: '/api/collections/:name/records/:id', status_class: '2xx' },
      value: 1,
    })
    expect(byRoute).toContainEqual(
      expect.objectContaining({
        labels: { method: 'GET', route: '/api/collections/:name/records/:id', status_class: '4xx' },
      }),
    )
    expect(byRoute).toContainEqual(
      expect.objectContaining({
        labels: { method: 'GET', route: 'unmatched', status_class: '4xx' },
      }),
    )
    // No label anywhere carries an id or a raw path.
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) {
        expect(value).not.toContain(id)
        expect(value).not.toContain('/no/such')
        expect(value).not.toContain('posts')
      }
    }
    // Each histogram's +Inf bucket equals its count.
    for (const count of byRoute) {
      const inf = samples.find(
        (s) =>
          s.name === 'er_http_request_duration_seconds_bucket' &&
          s.labels.le === '+Inf' &&
          s.labels.route === count.labels.route &&
          s.labels.status_class === count.labels.status_class,
      )
      expect(inf?.value).toBe(count.value)
    }
    const selects = samples.find(
      (s) =>
        s.name === 'er_store_query_duration_seconds_count' &&
        s.labels.statement === 'select' &&
        s.labels.outcome === 'ok',
    )
    expect(selects?.value).toBeGreaterThan(0)
    expect(
      samples.some(
        (s) =>
          s.name === 'er_store_query_duration_seconds_count' && s.labels.statement === 'insert',
      ),
    ).toBe(true)

    if (promtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], {
        input: res.body,
        encoding: 'utf8',
      })
      // promtool exits 1 for lint warnings only when --lint is strict; errors print "error".
      expect(check.stdout + check.stderr).not.toMatch(/error/i)
    }
  })
})

describe.each(await availableDialects())('realtime gauges on %s', (dialect) => {
  it('count open streams and the outbox backlog when scraped', async () => {
    const t = await createTestEngine(dialect)
    engines.push(t)
    await createCollection(t, { name: 'posts', fields: [{ name: 'title', type: 'text' }] })
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const scrape = async () => {
      const res = await t.call({ method: 'GET', url: '/metrics', anonymous: true })
      const { samples, types } = parsePrometheusText(res.body)
      expect(types.get('er_realtime_connections')).toBe('gauge')
      expect(types.get('er_outbox_backlog_events')).toBe('gauge')
      const value = (name: string) => samples.find((x) => x.name === name)?.value
      const sse = samples.find(
        (x) => x.name === 'er_realtime_connections' && x.labels.transport === 'sse',
      )?.value
      return { open: sse, backlog: value('er_outbox_backlog_events') }
    }
    expect((await scrape()).open).toBe(0)
    const controller = new AbortController()
    const stream = await fetch(`${base}/api/realtime?topic=posts`, {
      headers: { authorization: `Bearer ${t.token}` },
      signal: controller.signal,
    })
    expect(stream.status).toBe(200)
    expect((await scrape()).open).toBe(1)
    // With the dispatcher stopped, events written behind its back are the backlog, exactly.
    const realtime = t.engine.realtime
    if (!realtime) throw new Error('the test engine runs realtime')
    await realtime.dispatcher.stop()
    const before = (await scrape()).backlog ?? Number.NaN
    await t.engine.store.transaction(async (tx) => {
      for (const title of ['one', 'two'])
        tx.recordChange({
          collection: 'posts',
          recordId: `r-${title}`,
          action: 'create',
          record: { id: `r-${title}`, title },
        })
    })
    expect((await scrape()).backlog).toBe(before + 2)
    // Started again, it publishes them and the backlog drains to zero.
    realtime.dispatcher.start()
    await expect.poll(async () => (await scrape()).backlog, { timeout: 5000 }).toBe(0)
    controller.abort()
  })
})

describe('who may scrape /metrics', () => {
  it('without a token: loopback clients only, and none that came through a proxy', async () => {
    const t = await createTestEngine('sqlite')
    engines.push(t)
    const get = (options: { remoteAddress?: string; headers?: Record<string, string> }) =>
      t.app.inject({ method: 'GET', url: '/metrics', ...options })
    expect((await get({ remoteAddress: '127.0.0.1' })).statusCode).toBe(200)
    expect((await get({ remoteAddress: '::1' })).statusCode).toBe(200)
    expect((await get({ remoteAddress: '10.1.2.3' })).statusCode).toBe(404)
    expect(
      (await get({ remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } }))
        .statusCode,
    ).toBe(404)
  })

  it('with a token: only a request bearing it, from anywhere', async () => {
    const token = 'metrics-token-0123456789abcdef'
    const t = await createTestEngine('sqlite', { metricsRoute: { token } })
    engines.push(t)
    const get = (authorization?: string) =>
      t.app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '10.1.2.3',
        headers: authorization ? { authorization } : {},
      })
    expect((await get(`Bearer ${token}`)).statusCode).toBe(200)
    expect((await get(`Bearer ${token}x`)).statusCode).toBe(404)
    expect((await get('Bearer short')).statusCode).toBe(404)
    expect((await get()).statusCode).toBe(404)
  })

  it('can be left off the API app (served on a metrics port instead)', async () => {
    const t = await createTestEngine('sqlite', { metricsRoute: false })
    engines.push(t)
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404)
  })
})
