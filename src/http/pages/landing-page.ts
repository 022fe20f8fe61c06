import type { FastifyPluginAsync } from 'fastify'
import { escapeHtml, pageHtml } from './page-shell.js'

export interface LandingPageOptions {
  /** Whether `GET /graphql` sends a browser to the dashboard's explorer (linked only then). */
  graphqlExplorer: boolean
  /** Whether `/hub/` serves the career hub page (linked only then; asked until it is true). */
  careerHub?: () => Promise<boolean>
}

/**
 * `GET /`: a small page for whoever opens the server in a browser, pointing at what they came
 * for, instead of a JSON 404. Operators who want `/` to say nothing set `ER_LANDING_PAGE=false`.
 *
 * @example
 *   await app.register(landingPage, { graphqlExplorer: true })
 */
const HUB_LINK: [string, string, string] = [
  '/hub/',
  'Career hub',
  'the example app: roadmap, salaries, jobs, portfolios, bootcamps',
]

export const landingPage: FastifyPluginAsync<LandingPageOptions> = async (app, options) => {
  const links: [string, string, string][] = [
    ['/_/', 'Dashboard', 'collections, records and users'],
    ['/api/docs', 'API documentation', 'every endpoint, with a console (OpenAPI 3.1)'],
    ...(options.graphqlExplorer
      ? [
          ['/graphql', 'GraphQL explorer', 'queries, mutations and subscriptions'] as [
            string,
            string,
            string,
          ],
        ]
      : []),
    ['/healthz', 'Health', 'whether this process serves'],
  ]
  const html = (withHub: boolean) =>
    pageHtml({
      title: 'Engine Room is running',
      page: 'landing',
      body: `      <p>An open-source back end in one process: REST, GraphQL, realtime, auth and rules.</p>
      <ul class="links">
${[...(withHub ? [HUB_LINK] : []), ...links].map(([href, label, what]) => `        <li><a href="${escapeHtml(href)}">${escapeHtml(label)}</a>: ${escapeHtml(what)}</li>`).join('\n')}
      </ul>`,
    })
  const plain = html(false)
  const hubbed = html(true)
  // A template is never removed from a database: once seen, the link stays without asking.
  let hub = false
  const showsHub = async () => (hub ||= (await options.careerHub?.()) ?? false)
  app.get('/', { config: { htmlDocument: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send((await showsHub()) ? hubbed : plain),
  )
}
