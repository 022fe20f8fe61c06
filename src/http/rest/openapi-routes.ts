import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import type { CollectionDef } from '../../core/schema/types.js'
import { buildOpenApiDocument, type OpenApiInfo } from '../../services/openapi/build-openapi.js'

/** Options of {@link openApiRoutes}. */
export interface OpenApiRoutesOptions {
  /** The live collections; called on each `GET /api/openapi.json`. */
  listCollections: () => Promise<readonly CollectionDef[]> | readonly CollectionDef[]
  /** Title, version and server URL written into the document. */
  info?: OpenApiInfo
}

const DOCUMENT_URL = '/api/openapi.json'
const DOCS_URL = '/api/docs'

/** The swagger-ui-dist files the page loads, by the name they are served under. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
}

// A served file rather than an inline <script>, so the page works under `script-src 'self'`.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '${DOCUMENT_URL}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  })
})
`

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Engine Room API</title>
    <link rel="stylesheet" href="${DOCS_URL}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_URL}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_URL}/swagger-ui-standalone-preset.js"></script>
    <script src="${DOCS_URL}/swagger-initializer.js"></script>
  </body>
</html>
`

/**
 * `GET /api/openapi.json` (the document for the live collections) and `GET /api/docs` (Swagger
 * UI, every asset served from the installed swagger-ui-dist, no CDN).
 *
 * @example
 *   await app.register(openApiRoutes, { listCollections: () => schema.listCollections() })
 */
export const openApiRoutes: FastifyPluginAsync<OpenApiRoutesOptions> = async (app, options) => {
  // One entry keyed by the collections' JSON: exact (any change misses) and cheaper than
  // building and serialising the much larger document again.
  let cached: { key: string; json: string } | undefined

  app.get(DOCUMENT_URL, async (_request, reply) => {
    const collections = await options.listCollections()
    const key = JSON.stringify(collections)
    if (cached?.key !== key) {
      cached = { key, json: JSON.stringify(buildOpenApiDocument(collections, options.info)) }
    }
    return reply.type('application/json; charset=utf-8').send(cached.json)
  })

  // Asset URLs are absolute, so `/api/docs/` also works where the app ignores trailing slashes.
  app.get(DOCS_URL, { config: { htmlDocument: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(PAGE),
  )

  app.get(`${DOCS_URL}/swagger-initializer.js`, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INITIALIZER),
  )

  const assetDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const loaded = new Map<string, Promise<Buffer>>()
  for (const [name, type] of Object.entries(ASSETS)) {
    app.get(`${DOCS_URL}/${name}`, async (_request, reply) => {
      // Read once on first use: the bundle is ~1.5 MB and never changes while we run.
      let body = loaded.get(name)
      if (body === undefined) {
        body = readFile(join(assetDir, name))
        loaded.set(name, body)
        body.catch(() => loaded.delete(name))
      }
      return reply
        .type(type)
        .header('cache-control', 'public, max-age=3600')
        .send(await body)
    })
  }
}
