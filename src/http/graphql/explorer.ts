import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { FastifyPluginAsync } from 'fastify'

/** Where the explorer's script and stylesheet are served; the page links to both. */
export const EXPLORER_SCRIPT_URL = '/graphql/explorer.js'
export const EXPLORER_STYLE_URL = '/graphql/explorer.css'

/**
 * The assets are real files beside this module: `src/http/graphql/explorer-assets/` when run from
 * source (tsx, Vitest) and `dist/http/graphql/explorer-assets/`, copied there by `npm run build`,
 * when run from the build (tsc does not copy non-TypeScript files).
 */
const ASSET_DIR = new URL('./explorer-assets/', import.meta.url)

const ASSETS = [
  { url: EXPLORER_SCRIPT_URL, file: 'explorer.js', type: 'text/javascript; charset=utf-8' },
  { url: EXPLORER_STYLE_URL, file: 'explorer.css', type: 'text/css; charset=utf-8' },
] as const

/** Text escaped for an HTML attribute value or element content. */
function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
}

/**
 * The GraphQL explorer page: a shell with no inline script, so it runs under the server's
 * `script-src 'self'`. Everything it does lives in {@link EXPLORER_SCRIPT_URL}, which reads the
 * endpoint from the `data-endpoint` attribute of `<body>`.
 *
 * @example
 *   app.get('/graphql', (request, reply) =>
 *     reply.type('text/html; charset=utf-8').send(explorerHtml({ endpoint: '/graphql' })),
 *   )
 */
export function explorerHtml(options: { endpoint: string }): string {
  const endpoint = escapeHtml(options.endpoint)
  // `rel="icon" href="data:,"` stops the browser asking for /favicon.ico (a 404 in the console).
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>GraphQL explorer · Engine Room</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${EXPLORER_STYLE_URL}" />
    <script type="module" src="${EXPLORER_SCRIPT_URL}"></script>
  </head>
  <body data-endpoint="${endpoint}">
    <noscript>The GraphQL explorer needs JavaScript. POST queries to ${endpoint} instead.</noscript>
  </body>
</html>
`
}

/**
 * `GET /graphql/explorer.js` and `GET /graphql/explorer.css`. Both files are read once, when the
 * plugin is registered, so a build without them fails at startup rather than on first use. They
 * are cached for an hour and carry an ETag, so a browser revalidates cheaply after an upgrade.
 *
 * @example
 *   if (config.graphql.explorer) await app.register(explorerAssetRoutes)
 */
export const explorerAssetRoutes: FastifyPluginAsync = async (app) => {
  for (const asset of ASSETS) {
    const body = await readFile(new URL(asset.file, ASSET_DIR))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    app.get(asset.url, async (request, reply) => {
      reply.type(asset.type).header('cache-control', 'public, max-age=3600').header('etag', etag)
      const cached = request.headers['if-none-match']?.split(/\s*,\s*/) ?? []
      if (cached.includes(etag) || cached.includes(`W/${etag}`)) return reply.code(304).send()
      return reply.send(body)
    })
  }
}
