import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import { pageHtml } from '../pages/page-shell.js'
import { readStaticBuild, sendHashedAsset } from '../pages/static-build.js'

/**
 * Where `npm run build:admin` puts the dashboard: `admin/dist` at the package root, which is
 * three levels above this module both in `src/http/admin/` and in `dist/http/admin/`.
 */
export const DEFAULT_ADMIN_DIR = fileURLToPath(new URL('../../../admin/dist/', import.meta.url))

const NOT_BUILT = pageHtml({
  title: 'The dashboard is not built',
  page: 'admin-missing',
  body: `      <p>This server runs without its dashboard (and the GraphQL explorer, which is part of it).
        From the project folder run <code>npm run build</code> (or <code>npm run build:admin</code>)
        and restart the server.</p>
      <p>GraphQL itself is served: POST queries to <code>/graphql</code>.</p>
      <p>The API is unaffected: see <a href="/api/docs">the API documentation</a>.</p>`,
})

/**
 * The dashboard at `/_/`: `index.html` for the page (the dashboard routes in the URL fragment, so
 * one page serves every screen) and the hashed files under `/_/assets/`, cached for a year. When
 * the build is absent the server still starts, and `/_/` says how to build it.
 *
 * @example
 *   await app.register(adminRoutes, { dir: DEFAULT_ADMIN_DIR })
 */
export const adminRoutes: FastifyPluginAsync<{ dir: string }> = async (app, { dir }) => {
  const assets = readStaticBuild(dir)
  app.get('/_/', { config: { htmlDocument: true } }, async (_request, reply) => {
    const index = await assets?.get('index.html')?.load()
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8')
    return index ? reply.send(index.body) : reply.code(503).send(NOT_BUILT)
  })
  app.get<{ Params: { '*': string } }>('/_/assets/*', async (request, reply) => {
    const asset = await assets?.get(`assets/${request.params['*']}`)?.load()
    if (!asset) return reply.callNotFound()
    return sendHashedAsset(reply, asset, request.headers['if-none-match'])
  })
}
