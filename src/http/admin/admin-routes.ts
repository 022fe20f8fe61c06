import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import { pageHtml } from '../pages/page-shell.js'

/**
 * Where `npm run build:admin` puts the dashboard: `admin/dist` at the package root, which is
 * three levels above this module both in `src/http/admin/` and in `dist/http/admin/`.
 */
export const DEFAULT_ADMIN_DIR = fileURLToPath(new URL('../../../admin/dist/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
}

interface Asset {
  body: Buffer
  type: string
  etag: string
}

/** Every file of the build, by URL path under `/_/`; the build is a few files, read once. */
function readBuild(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    const type = TYPES[extname(file)]
    if (!type) continue
    const body = readFileSync(file)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(relative(dir, file).split(sep).join('/'), { body, type, etag })
  }
  return assets
}

const NOT_BUILT = pageHtml({
  title: 'The dashboard is not built',
  page: 'admin-missing',
  body: `      <p>This server runs without its dashboard. From the project folder run <code>npm run build</code>
        (or <code>npm run build:admin</code>) and restart the server.</p>
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
  const assets = existsSync(join(dir, 'index.html')) ? readBuild(dir) : undefined
  const index = assets?.get('index.html')
  app.get('/_/', { config: { htmlDocument: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8')
    return index ? reply.send(index.body) : reply.code(503).send(NOT_BUILT)
  })
  app.get<{ Params: { '*': string } }>('/_/assets/*', async (request, reply) => {
    const asset = assets?.get(`assets/${request.params['*']}`)
    if (!asset) return reply.callNotFound()
    reply.type(asset.type).header('etag', asset.etag)
    // Vite puts a content hash in every asset name: a changed file is a new URL.
    reply.header('cache-control', 'public, max-age=31536000, immutable')
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
    return reply.send(asset.body)
  })
}
