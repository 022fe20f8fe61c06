import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { AuthService } from '../../services/auth/auth-service.js'
import { openApiRoutes } from './openapi-routes.js'

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

/** The page and its assets only: the documents themselves are tested on a real engine. */
async function build(): Promise<FastifyInstance> {
  app = Fastify()
  const unused = () => {
    throw new Error('not used by the page')
  }
  await app.register(openApiRoutes, {
    documents: { json: unused },
    auth: { knownCaller: unused, identify: unused } as unknown as AuthService,
  })
  return app
}

describe('openApiRoutes', () => {
  it('serves Swagger UI from local assets', async () => {
    const server = await build()
    const page = await server.inject({ method: 'GET', url: '/api/docs' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).not.toMatch(/https?:\/\//)
    // No inline script: every <script> has a src, so `script-src 'self'` suffices.
    expect(page.body).not.toMatch(/<script>/)

    const urls = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(urls).toEqual([
      '/api/docs/swagger-ui.css',
      '/api/docs/swagger-ui-bundle.js',
      '/api/docs/swagger-ui-standalone-preset.js',
      '/api/docs/swagger-initializer.js',
    ])
    for (const url of urls) {
      const asset = await server.inject({ method: 'GET', url })
      expect(asset.statusCode, url).toBe(200)
      expect(asset.headers['content-type'], url).toMatch(
        url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      )
      expect(asset.body.length, url).toBeGreaterThan(0)
    }
    const init = await server.inject({ method: 'GET', url: '/api/docs/swagger-initializer.js' })
    expect(init.body).toContain("url: '/api/openapi.json'")
    // The document is fetched with the token given to "Authorize", and again when it changes.
    expect(init.body).toContain('request.loadSpec')
    expect(init.body).toContain('specActions.download()')
  })
})
