import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explorerAssetRoutes, explorerHtml } from './explorer.js'

const app = Fastify()

beforeAll(async () => {
  await app.register(explorerAssetRoutes)
  await app.ready()
})
afterAll(() => app.close())

describe('explorerHtml', () => {
  const html = explorerHtml({ endpoint: '/graphql' })

  it('loads its script and stylesheet from this origin, with no inline script', () => {
    expect(html).toMatch(/<link rel="stylesheet" href="\/graphql\/explorer.css" \/>/)
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts).toHaveLength(1)
    expect(scripts[0]?.[1]).toContain('src="/graphql/explorer.js"')
    expect(scripts[0]?.[2]).toBe('')
    // No event-handler attributes or javascript: URLs either: `script-src 'self'` blocks both.
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect(html).not.toMatch(/javascript:/i)
  })

  it('passes the endpoint in a data attribute, escaped', () => {
    expect(html).toContain('<body data-endpoint="/graphql">')
    const hostile = explorerHtml({ endpoint: '/x"><script>alert(1)</script>' })
    expect(hostile).toContain('data-endpoint="/x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"')
    expect(hostile.match(/<script/g)).toHaveLength(1)
  })
})

describe('explorerAssetRoutes', () => {
  it.each([
    ['/graphql/explorer.js', 'text/javascript; charset=utf-8', 'INTROSPECTION_QUERY'],
    ['/graphql/explorer.css', 'text/css; charset=utf-8', '.panes'],
  ])('serves %s as %s, cached, with an ETag', async (url, type, marker) => {
    const res = await app.inject({ method: 'GET', url })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(type)
    expect(res.headers['cache-control']).toBe('public, max-age=3600')
    expect(res.body).toContain(marker)

    const etag = String(res.headers.etag)
    expect(etag).toMatch(/^"[\w-]+"$/)
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
  })

  it('keeps server text out of markup in the script', async () => {
    const res = await app.inject({ method: 'GET', url: '/graphql/explorer.js' })
    expect(res.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
  })
})
