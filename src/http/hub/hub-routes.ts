import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import { pageHtml } from '../pages/page-shell.js'
import { readStaticBuild, sendHashedAsset } from '../pages/static-build.js'

/** Where `npm run build:hub` puts the career hub's page (as admin/dist, from src/ or dist/). */
export const DEFAULT_HUB_DIR = fileURLToPath(new URL('../../../hub/dist/', import.meta.url))

export interface HubRoutesOptions {
  /** The page's build folder. */
  dir: string
  /** Whether this database holds the career-hub template (`engineroom init --template`). */
  holdsTemplate(): Promise<boolean>
}

const NOT_BUILT = pageHtml({
  title: 'The career hub page is not built',
  page: 'hub-missing',
  body: `      <p>This database holds the career hub template, but its web page was not built. From the
        project folder run <code>npm run build</code> (or <code>npm run build:hub</code>) and restart
        the server.</p>
      <p>The API serves the template as usual: see <a href="/api/docs">the API documentation</a>.</p>`,
})

/**
 * `/hub/`: the career hub's public page (a client of the API through `@engineroom/client`), served
 * only where it has something to show: a database that `engineroom init --template career-hub`
 * (or `npm run demo`) filled. Elsewhere `/hub/` is a 404 like any unknown path, so an
 * application's own server never grows a page it did not ask for. The check reads one setting,
 * only on `/hub/` itself, and is kept once true (a template is never removed from a database).
 *
 * @example
 *   await app.register(hubRoutes, { dir: DEFAULT_HUB_DIR, holdsTemplate: async () => true })
 */
export const hubRoutes: FastifyPluginAsync<HubRoutesOptions> = async (app, options) => {
  const assets = readStaticBuild(options.dir)
  let present = false
  const holdsTemplate = async () => (present ||= await options.holdsTemplate())

  app.get('/hub/', { config: { htmlDocument: true } }, async (_request, reply) => {
    if (!(await holdsTemplate())) return reply.callNotFound()
    const index = await assets?.get('index.html')?.load()
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8')
    return index ? reply.send(index.body) : reply.code(503).send(NOT_BUILT)
  })
  app.get<{ Params: { '*': string } }>('/hub/assets/*', async (request, reply) => {
    const file = assets?.get(`assets/${request.params['*']}`)
    if (!file || !(await holdsTemplate())) return reply.callNotFound()
    const asset = await file.load()
    if (!asset) return reply.callNotFound()
    return sendHashedAsset(reply, asset, request.headers['if-none-match'])
  })
}
