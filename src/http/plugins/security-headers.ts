import cors from '@fastify/cors'
import helmet from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'

export interface SecurityHeadersOptions {
  /**
   * Exact origins (`https://app.example.com`) allowed to call the API from a browser; a
   * function is asked on every cross-origin request (origins changed in the settings).
   */
  corsOrigins?: readonly string[] | (() => readonly string[])
  /** Whether those origins may send credentials (cookies, Authorization). */
  corsCredentials?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route answers an HTML page (true), or does for the requests the function picks: such
     * answers get the document headers, not the API's.
     */
    htmlDocument?: boolean | ((request: FastifyRequest) => boolean)
  }
}

/**
 * The headers every API answer (JSON, problems, unmatched routes) gets, after OWASP's REST
 * Security Cheat Sheet: such a response is never rendered as a page, so it needs only what stops
 * it from being one. If a browser is ever led to open one, it may load nothing, run nothing and
 * be framed by nothing (`default-src 'none'; frame-ancestors 'none'`), is never sniffed into
 * another type, and sends no referrer. The page-only headers helmet adds (opener policy, origin
 * agent cluster, DNS prefetch, download options, XSS auditor …) mean nothing on JSON; Node
 * validates and writes every header on every response (about 0.6 µs each, measured), so API
 * answers carry 7 headers instead of 13.
 */
const API_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
}

/**
 * Security headers, set in one callback hook with the request id:
 * - routes marked `config: { htmlDocument: true }` (Swagger UI at `/api/docs`, the admin UI
 *   with its GraphQL explorer) get helmet's full set, with a Content-Security-Policy that fits
 *   what they load: every script and style from this origin. `style-src 'unsafe-inline'` is
 *   there because Swagger UI, React style props and GraphiQL (CodeMirror 5's measurements,
 *   framer-motion's transforms) set inline styles; scripts stay `'self'` only, which is what
 *   stops injected markup from running code (GraphiQL 4 needs no eval and no worker);
 * - every other answer gets {@link API_HEADERS}.
 *
 * None of these headers depends on the request, so helmet runs once, at start, into a recorder,
 * and each request gets a recorded set in one `reply.headers` call. Running helmet's eleven
 * middlewares per request (each a `setHeader`) cost about 7 µs of a get by id's CPU.
 *
 * CORS answers only the listed origins, exactly (no wildcard, no pattern): with credentials a
 * wildcard would hand any site the user's session. With no origin listed the plugin is not
 * registered at all: it would add nothing to any response, but cost a hook on every request.
 */
export async function registerSecurityHeaders(
  app: FastifyInstance,
  options: SecurityHeadersOptions,
): Promise<void> {
  const applyHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    // Cross-origin API calls are governed by CORS; CORP only guards no-cors embedding.
    crossOriginResourcePolicy: { policy: 'same-origin' },
  })
  const documentHeaders = recordHeaders(applyHeaders)
  app.addHook('onRequest', (request, reply, done) => {
    const page = request.routeOptions.config.htmlDocument
    const isPage = page === true || (typeof page === 'function' && page(request))
    reply.headers(isPage ? documentHeaders : API_HEADERS)
    // Echoed so clients can quote it when reporting a problem.
    reply.header('x-request-id', request.id)
    done()
  })
  const given = options.corsOrigins ?? []
  if (typeof given !== 'function' && given.length === 0) return
  const origins = typeof given === 'function' ? given : () => given
  await app.register(cors, {
    // Exact string comparison against the list in force for this request.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && origins().includes(origin)),
    credentials: options.corsCredentials ?? false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'],
    exposedHeaders: [
      'x-request-id',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ],
    maxAge: 600,
  })
}

type NodeMiddleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void

/** The headers a request-independent middleware sets, as one lower-cased object. */
function recordHeaders(middleware: NodeMiddleware): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  let failure: unknown
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    failure = error
  })
  if (failure) throw failure
  return headers
}
