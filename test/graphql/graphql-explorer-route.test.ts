/**
 * `/graphql` in a browser: the explorer is GraphiQL in the dashboard, so a browser navigating to
 * the endpoint is sent to `/_/#/graphql`, while an API client asking the same URL gets GraphQL.
 * Without a dashboard build the server still starts and the page it lands on says how to build
 * it; with the explorer turned off (production's default) or no dashboard, nobody is redirected.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { availableDialects, type DialectName } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

const engines: TestEngine[] = []
const build = mkdtempSync(join(tmpdir(), 'er-explorer-build-'))
writeFileSync(join(build, 'index.html'), '<!doctype html><div id="root"></div>')
afterAll(async () => {
  for (const t of engines) await t.close()
  rmSync(build, { recursive: true, force: true })
})

async function engine(
  options: Parameters<typeof createTestEngine>[1],
  dialect: DialectName = 'sqlite',
): Promise<TestEngine> {
  const t = await createTestEngine(dialect, options)
  engines.push(t)
  return t
}

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }

describe.each(dialects)('the GraphQL explorer route on %s', (dialect) => {
  it('sends browsers to the dashboard explorer and answers API clients on the same URL', async () => {
    const t = await engine({ adminDir: build }, dialect)
    const page = await t.call({ method: 'GET', url: '/graphql', headers: html, anonymous: true })
    expect(page.statusCode).toBe(302)
    expect(page.headers.location).toBe('/_/#/graphql')
    // The redirect itself is an API answer: nothing in it may run.
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    )
    const dashboard = await t.call({ method: 'GET', url: '/_/', headers: html, anonymous: true })
    expect(dashboard.statusCode).toBe(200)
    expect(dashboard.body).toContain('<div id="root">')
    // With a query, or without HTML in Accept, or by POST, the same URL is the API.
    const api = await t.call({
      method: 'GET',
      url: '/graphql?query=%7B__typename%7D',
      headers: html,
      anonymous: true,
    })
    expect(api.json()).toEqual({ data: { __typename: 'Query' } })
    const noQuery = await t.call({
      method: 'GET',
      url: '/graphql',
      headers: { accept: 'application/json' },
      anonymous: true,
    })
    expect(noQuery.statusCode).toBe(400)
    const post = await t.call({
      method: 'POST',
      url: '/graphql',
      headers: { ...html, 'content-type': 'application/json' },
      payload: { query: '{ __typename }' },
      anonymous: true,
    })
    expect(post.json()).toEqual({ data: { __typename: 'Query' } })
    // The hand-written explorer's assets are gone.
    for (const url of ['/graphql/explorer.js', '/graphql/explorer.css']) {
      expect((await t.call({ method: 'GET', url, anonymous: true })).statusCode).toBe(404)
    }
  })
})

describe('the GraphQL explorer route when the dashboard is absent or the explorer off', () => {
  it('still starts without a dashboard build, and the explorer link says how to build it', async () => {
    const t = await engine({ adminDir: join(build, 'nowhere') })
    const page = await t.call({ method: 'GET', url: '/graphql', headers: html, anonymous: true })
    expect(page.statusCode).toBe(302)
    const landing = await t.call({ method: 'GET', url: '/_/', headers: html, anonymous: true })
    expect(landing.statusCode).toBe(503)
    expect(landing.body).toContain('GraphQL explorer')
    expect(landing.body).toContain('npm run build')
    const api = await t.call({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: { query: '{ __typename }' },
      anonymous: true,
    })
    expect(api.json()).toEqual({ data: { __typename: 'Query' } })
  })

  it.each([
    ['the explorer is turned off', { adminDir: build, graphql: { explorer: false } }],
    ['the dashboard is turned off', { adminDir: false as const }],
  ])('redirects nobody when %s, and the landing page does not link it', async (_, options) => {
    const t = await engine(options)
    const page = await t.call({ method: 'GET', url: '/graphql', headers: html, anonymous: true })
    expect(page.statusCode).toBe(400)
    expect(page.headers.location).toBeUndefined()
    expect(page.headers['content-type']).not.toMatch(/^text\/html/)
    const landing = await t.call({ method: 'GET', url: '/', headers: html, anonymous: true })
    expect(landing.statusCode).toBe(200)
    expect(landing.body).not.toContain('href="/graphql"')
  })
})
