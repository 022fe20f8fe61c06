import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import { BEARER_AUTH } from '../../services/openapi/openapi-components.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { OpenApiDocuments } from '../../services/openapi/openapi-documents.js'
import { contextOf } from '../plugins/request-context.js'

/** Options of {@link openApiRoutes}. */
export interface OpenApiRoutesOptions {
  /** The document for each caller (what its access rules could allow). */
  documents: OpenApiDocuments
  auth: AuthService
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
// The document depends on who asks: the token given to "Authorize" also fetches it, and
// authorizing or logging out fetches it again, so the page shows what that token may use.
const INITIALIZER = `window.addEventListener('load', function () {
  function token() {
    // The first download starts while SwaggerUIBundle is still being built.
    var auth = window.ui && window.ui.authSelectors.authorized().toJS()
    return auth && auth.${BEARER_AUTH} && auth.${BEARER_AUTH}.value
  }
  function refetching(action, system) {
    return function (payload) {
      var result = action(payload)
      system.specActions.download()
      return result
    }
  }
  window.ui = SwaggerUIBundle({
    url: '${DOCUMENT_URL}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [function () {
      return { statePlugins: { auth: { wrapActions: { authorize: refetching, logout: refetching } } } }
    }],
    requestInterceptor: function (request) {
      var bearer = request.loadSpec && token()
      if (bearer) request.headers.Authorization = 'Bearer ' + bearer
      return request
    },
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
 * `GET /api/openapi.json` (the document of the live collections, as far as the caller's access
 * rules could ever let it use them; superusers see everything) and `GET /api/docs` (Swagger UI,
 * every asset served from the installed swagger-ui-dist, no CDN).
 *
 * @example
 *   await app.register(openApiRoutes, { documents: createOpenApiDocuments({ registry }), auth })
 */
export const openApiRoutes: FastifyPluginAsync<OpenApiRoutesOptions> = async (app, options) => {
  app.get(DOCUMENT_URL, async (request, reply) => {
    const json = await options.documents.json(await contextOf(request, options.auth))
    return (
      reply
        .type('application/json; charset=utf-8')
        // Each caller gets its own: no shared cache may hand one caller's to another.
        .header('cache-control', 'private, no-cache')
        .header('vary', 'Authorization, Cookie')
        .send(json)
    )
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
