/**
 * Security headers fit for an API, the admin UI and Swagger UI; CORS for listed origins only;
 * load shedding that refuses work with 503 + Retry-After while probes and scrapes still answer.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { expectProblem } from '../helpers/api-assertions.js'
import { eventually } from '../helpers/tcp-proxy.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const engines: TestEngine[] = []
afterEach(async () => {
  for (const t of engines.splice(0)) await t.close()
})

describe('security headers and CORS', () => {
  it('send a CSP under which /api/docs loads only its own scripts', async () => {
    const t = await createTestEngine('sqlite')
    engines.push(t)
    const page = await t.call({ method: 'GET', url: '/api/docs', anonymous: true })
    expect(page.statusCode).toBe(200)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/)
    // Every script the page loads is served from this origin, under /api/docs/.
    const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] as string)
    expect(scripts.length).toBeGreaterThan(0)
    expect(page.body).not.toMatch(/<script>(?!<\/script>)/)
    for (const src of scripts) {
      expect(src.startsWith('/api/docs/')).toBe(true)
      expect((await t.call({ method: 'GET', url: src, anonymous: true })).statusCode).toBe(200)
    }
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN')
    expect(page.headers['strict-transport-security']).toMatch(/max-age=/)
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin')
  })

  it('send API answers the headers that keep them from ever acting as a page', async () => {
    const t = await createTestEngine('sqlite')
    engines.push(t)
    // A record, an API error, a route no one matched, and GraphQL's JSON answers.
    const answers = [
      await t.call({ method: 'GET', url: '/api/collections' }),
      await t.call({ method: 'GET', url: '/api/collections/nope/records' }),
      await t.call({ method: 'GET', url: '/no/such/route' }),
      await t.call({ method: 'POST', url: '/graphql', payload: { query: '{ __typename }' } }),
      await t.call({ method: 'GET', url: '/graphql?query=%7B__typename%7D' }),
    ]
    expect(answers.map((res) => res.statusCode)).toEqual([200, 404, 404, 200, 200])
    for (const res of answers) {
      expect(res.headers['content-security-policy']).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      )
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['x-frame-options']).toBe('DENY')
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin')
      expect(res.headers['referrer-policy']).toBe('no-referrer')
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/)
      expect(res.headers['x-request-id']).toBeTruthy()
      // Page-only headers are left out of JSON.
      expect(res.headers['cross-origin-opener-policy']).toBeUndefined()
    }
    // A browser opening /graphql is redirected to the dashboard's explorer: still an API answer.
    const explorer = await t.call({
      method: 'GET',
      url: '/graphql',
      anonymous: true,
      headers: { accept: 'text/html' },
    })
    expect(explorer.statusCode).toBe(302)
    expect(explorer.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    )
  })

  it('answers CORS only for the exact listed origins, with credentials when enabled', async () => {
    const t = await createTestEngine('sqlite', {
      cors: { origins: ['https://app.example.com'], credentials: true },
    })
    engines.push(t)
    const preflight = (origin: string) =>
      t.call({
        method: 'OPTIONS',
        url: '/api/collections',
        anonymous: true,
        headers: { origin, 'access-control-request-method': 'POST' },
      })
    const allowed = await preflight('https://app.example.com')
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(allowed.headers['access-control-allow-credentials']).toBe('true')
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net']) {
      expect((await preflight(origin)).headers['access-control-allow-origin']).toBeUndefined()
    }
    const get = await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { origin: 'https://app.example.com' },
    })
    expect(get.headers['access-control-expose-headers']).toContain('x-request-id')
  })

  it('sends no CORS headers when no origin is configured', async () => {
    const t = await createTestEngine('sqlite')
    engines.push(t)
    const res = await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { origin: 'https://app.example.com' },
    })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('connection limits', () => {
  it('answers 431 to a request head above the limit and 413 to a body above it', async () => {
    const t = await createTestEngine('sqlite', {
      bodyLimit: 2048,
      limits: {
        maxHeaderSize: 2048,
        requestTimeoutMs: 5000,
        headersTimeoutMs: 2000,
        keepAliveTimeoutMs: 5000,
      },
    })
    engines.push(t)
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 })
    expect(t.app.server.headersTimeout).toBe(2000)
    expect(t.app.server.requestTimeout).toBe(5000)
    expect(t.app.server.keepAliveTimeout).toBe(5000)
    const big = await fetch(`${url}/healthz`, { headers: { 'x-padding': 'x'.repeat(4096) } })
    expect(big.status).toBe(431)
    expect((await fetch(`${url}/healthz`, { headers: { 'x-padding': 'x' } })).status).toBe(200)
    const body = await fetch(`${url}/api/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ name: 'x'.repeat(4096) }),
    })
    expect(body.status).toBe(413)
  })
})

describe('load shedding', () => {
  it('refuses API requests with 503 + Retry-After above the threshold, not probes', async () => {
    // A heap limit of 1 byte: the process is "over" it from the first sample.
    const t = await createTestEngine('sqlite', {
      loadShedding: {
        maxEventLoopDelayMs: 0,
        maxHeapUsedBytes: 1,
        maxRssBytes: 0,
        retryAfterSeconds: 7,
      },
    })
    engines.push(t)
    // under-pressure samples memory once per interval; the first sample comes shortly after start.
    await eventually(
      async () => (await t.call({ method: 'GET', url: '/api/collections' })).statusCode === 503,
      5000,
      'shedding',
    )
    const res = await t.call({ method: 'GET', url: '/api/collections' })
    expect(expectProblem(res, 503, 'ER_UNAVAILABLE').detail).toMatch(/overloaded \(heapUsedBytes\)/)
    expect(res.headers['retry-after']).toBe('7')
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect((await t.call({ method: 'GET', url })).statusCode, url).toBe(200)
    }
  })

  it('serves normally below the thresholds', async () => {
    const t = await createTestEngine('sqlite', {
      loadShedding: { maxEventLoopDelayMs: 1000, maxHeapUsedBytes: 0, maxRssBytes: 0 },
    })
    engines.push(t)
    expect((await t.call({ method: 'GET', url: '/api/collections' })).statusCode).toBe(200)
  })
})
