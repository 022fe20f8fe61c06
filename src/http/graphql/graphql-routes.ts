import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { deepNestingOffset } from '../../core/json-depth.js'
import { tooDeeplyNested } from '../plugins/json-body.js'

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>

export interface GraphqlRoutesOptions {
  /**
   * Answers one request (graphql-http-handler.ts). It comes with graphql-js, graphql-http and the
   * schema builder, loaded by the first GraphQL request: a server that is never asked one does
   * not hold them.
   */
  handler(): Promise<Handler>
  /**
   * Where a browser opening `GET /graphql` is sent: the dashboard's GraphiQL
   * (`/_/#/graphql`). Absent when the explorer is turned off: browsers get the API's answer.
   */
  explorerUrl?: string | undefined
}

/**
 * `/graphql`: GraphQL over HTTP (GET for queries, POST for everything), as graphql-http
 * implements the spec, plus batches (a JSON array of operations, at most `maxBatch`). Bodies
 * reach graphql-http as text, so its own parsing decides every status the spec prescribes
 * (400 for bad JSON, 415 for other media types, 405 for a mutation over GET).
 */
export const graphqlRoutes: FastifyPluginAsync<GraphqlRoutesOptions> = async (app, options) => {
  // Bodies as text: graphql-http parses them and answers spec-conformant errors itself.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  // Kept once loaded: later requests do not wait on a promise.
  let handle: Handler | undefined

  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    // Rate limits (when on) are checked once the body is read: the document decides the budget.
    config: { rateLimit: { hook: 'preHandler' } },
    // A JSON body is parsed here, once: the rate limiter reads the operations it holds (after
    // JSON unescaping, so `\u0041` cannot hide a sign-in), and graphql-http takes the object.
    // A body that does not parse stays text, for graphql-http to refuse as the spec says.
    preValidation: async (request) => {
      if (typeof request.body !== 'string') return
      if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) return
      const tooDeep = deepNestingOffset(request.body)
      if (tooDeep >= 0) throw tooDeeplyNested(tooDeep)
      try {
        request.body = JSON.parse(request.body) as unknown
      } catch {
        // Left as text.
      }
    },
    handler: async (request, reply) => {
      if (options.explorerUrl && wantsExplorer(request)) {
        // 302, not 301: a browser must not remember it past an operator turning it off.
        return reply.redirect(options.explorerUrl, 302)
      }
      handle ??= await options.handler()
      return handle(request, reply)
    },
  })
}

/** A browser navigating to /graphql: HTML preferred and no operation in the URL. */
function wantsExplorer(request: FastifyRequest): boolean {
  if (request.method !== 'GET') return false
  const query = request.query as Record<string, unknown>
  return query.query === undefined && /text\/html/.test(request.headers.accept ?? '')
}
