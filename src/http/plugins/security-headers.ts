import cors from '@fastify/cors'
import helmet from 'helmet'
import type { FastifyInstance } from 'fastify'

export interface SecurityHeadersOptions {
  /** Exact origins (`https://app.example.com`) allowed to call the API from a browser. */
  corsOrigins?: string[]
  /** Whether those origins may send credentials (cookies, Authorization). */
  corsCredentials?: boolean
}

/**
 * Helmet's headers with a Content-Security-Policy that fits what this server serves: JSON, the
 * admin UI at `/_/` and Swagger UI at `/api/docs`, every script and style from this origin.
 * `style-src 'unsafe-inline'` is there because Swagger UI (and React style props) set inline
 * styles; scripts stay `'self'` only, which is what stops injected markup from running code.
 *
 * The middleware is built once and applied in one hook: the Fastify wrapper rebuilt it (and
 * re-parsed every CSP directive) on each request, about 5% of a get-by-id's CPU.
 *
 * CORS answers only the listed origins, exactly (no wildcard, no pattern): with credentials a
 * wildcard would hand any site the user's session.
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
  app.addHook('onRequest', (request, reply, done) => {
    applyHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined))
  })
  const origins = options.corsOrigins ?? []
  await app.register(cors, {
    origin: origins.length > 0 ? origins : false,
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
