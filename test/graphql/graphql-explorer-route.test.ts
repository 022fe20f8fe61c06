/**
 * The explorer on the real server: a browser navigating to /graphql gets the page (under the
 * server's CSP, with its assets), an API client asking the same URL gets GraphQL, and the
 * explorer can be turned off (as it is by default in production).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const engines: TestEngine[] = []
afterAll(async () => {
  for (const t of engines) await t.close()
})

const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }

describe('the GraphQL explorer route', () => {
  it('serves the page to browsers and GraphQL to API clients on the same URL', async () => {
    const t = await createTestEngine('sqlite')
    engines.push(t)
    const page = await t.call({ method: 'GET', url: '/graphql', headers: html, anonymous: true })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.body).toContain('/graphql/explorer.js')
    expect(page.body).not.toMatch(/<script>(?!<\/script>)/)
    const script = await t.call({ method: 'GET', url: '/graphql/explorer.js', anonymous: true })
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/javascript/)
    // With a query, or without HTML in Accept, the same URL is the API.
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
  })

  it('is absent when turned off', async () => {
    const t = await createTestEngine('sqlite', { graphql: { explorer: false } })
    engines.push(t)
    const page = await t.call({ method: 'GET', url: '/graphql', headers: html, anonymous: true })
    expect(page.headers['content-type']).not.toMatch(/^text\/html/)
    expect(page.statusCode).toBe(400)
    const script = await t.call({ method: 'GET', url: '/graphql/explorer.js', anonymous: true })
    expect(script.statusCode).toBe(404)
  })
})
