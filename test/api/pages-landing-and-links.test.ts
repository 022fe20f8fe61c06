/**
 * The pages for people in a browser, as HTTP sees them: `/` is a landing page (unless turned
 * off), the e-mail link pages exist at the paths the mails carry, all under the document
 * Content-Security-Policy with no inline script, and mails say "3 days", not "4320 minutes".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeDuration } from '../../src/services/auth/auth-email-flows.js'
import { expectProblem } from '../helpers/api-assertions.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe('landing page and e-mail link pages', () => {
  let t: TestEngine
  let quiet: TestEngine
  beforeAll(async () => {
    t = await createTestEngine('sqlite')
    quiet = await createTestEngine('sqlite', { landingPage: false, graphql: false })
  })
  afterAll(async () => {
    await t.close()
    await quiet.close()
  })

  it('answers / with a page linking the dashboard, docs, explorer and health', async () => {
    const res = await t.call({ method: 'GET', url: '/', anonymous: true })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    for (const href of ['/_/', '/api/docs', '/graphql', '/healthz']) {
      expect(res.body).toContain(`href="${href}"`)
    }
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/)
  })

  it('leaves / a 404 problem when the operator turns the page off', async () => {
    expectProblem(
      await quiet.call({ method: 'GET', url: '/', anonymous: true }),
      404,
      'ER_ROUTE_NOT_FOUND',
    )
  })

  it.each([
    ['/auth/verify-email', 'verify', 'Verify my e-mail'],
    ['/auth/reset-password', 'reset', 'Set the new password'],
    ['/auth/confirm-email-change', 'change', 'Current password'],
  ])('serves %s as a form page with no inline script', async (url, page, text) => {
    const res = await t.call({ method: 'GET', url, anonymous: true })
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain(`data-page="${page}"`)
    expect(res.body).toContain(text)
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    // Served on a page without an explorer too: the links must work whatever else is off.
    expect((await quiet.call({ method: 'GET', url, anonymous: true })).statusCode).toBe(200)
  })

  it('serves the pages script and stylesheet with an ETag that revalidates', async () => {
    const script = await t.call({ method: 'GET', url: '/_pages/pages.js', anonymous: true })
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    expect(script.body).toContain('/auth/')
    const again = await t.call({
      method: 'GET',
      url: '/_pages/pages.js',
      anonymous: true,
      headers: { 'if-none-match': String(script.headers.etag) },
    })
    expect(again.statusCode).toBe(304)
    const style = await t.call({ method: 'GET', url: '/_pages/pages.css', anonymous: true })
    expect(style.headers['content-type']).toMatch(/^text\/css/)
  })

  it('words link lifetimes as people say them', () => {
    expect(describeDuration(3 * 24 * 3600)).toBe('3 days')
    expect(describeDuration(30 * 60)).toBe('30 minutes')
    expect(describeDuration(3600)).toBe('1 hour')
    expect(describeDuration(90 * 60)).toBe('90 minutes')
  })
})
