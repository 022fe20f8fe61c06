import { Validator } from '@seriousme/openapi-schema-validator'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { CollectionDef } from '../../core/schema/types.js'
import { openApiRoutes } from './openapi-routes.js'

const at = '2026-01-01T00:00:00.000Z'
const rules = { list: null, view: null, create: null, update: null, delete: null }
const superusers: CollectionDef = {
  id: 'c1',
  name: '_superusers',
  type: 'auth',
  system: true,
  fields: [],
  indexes: [],
  rules,
  created: at,
  updated: at,
}
const posts: CollectionDef = {
  ...superusers,
  id: 'c2',
  name: 'posts',
  type: 'base',
  system: false,
  fields: [{ id: 'f1', name: 'title', type: 'text', required: true }],
}

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function build(list: () => Promise<readonly CollectionDef[]>): Promise<FastifyInstance> {
  app = Fastify()
  await app.register(openApiRoutes, { listCollections: list, info: { version: '1.0.0' } })
  return app
}

describe('openApiRoutes', () => {
  it('serves a valid document for the live collections', async () => {
    let collections: readonly CollectionDef[] = [superusers]
    const server = await build(async () => collections)

    const first = await server.inject({ method: 'GET', url: '/api/openapi.json' })
    expect(first.statusCode).toBe(200)
    expect(first.headers['content-type']).toMatch(/^application\/json/)
    const doc = first.json() as { paths: Record<string, unknown>; info: { version: string } }
    expect(doc.info.version).toBe('1.0.0')
    expect(doc.paths).toHaveProperty(['/api/collections/_superusers/records'])
    expect(await new Validator().validate(doc)).toEqual({ valid: true })

    // A schema change shows up on the next request, not after a restart.
    collections = [superusers, posts]
    const second = await server.inject({ method: 'GET', url: '/api/openapi.json' })
    expect(second.json()).toHaveProperty(['paths', '/api/collections/posts/records'])
  })

  it('serves Swagger UI from local assets', async () => {
    const server = await build(async () => [])
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
  })
})
