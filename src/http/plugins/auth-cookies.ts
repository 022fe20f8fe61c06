import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { EngineError } from '../../core/errors/index.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The access token from the session cookie, when cookie mode is on and no header is sent. */
    authCookieToken?: string
  }
}

/**
 * Browser sessions in cookies (off unless configured). `__Host-` pins the access cookie to this
 * exact host over HTTPS with `Path=/` (RFC 6265bis §4.1.3.2), so a sibling subdomain cannot plant
 * or overwrite it; both cookies are HttpOnly, so page scripts never see a token.
 */
export interface AuthCookieOptions {
  sameSite: 'lax' | 'strict'
  /** Origins (`https://app.example.com`) allowed to send cookie-authenticated writes. */
  trustedOrigins: string[]
  accessTtlSeconds: number
  sessionTtlSeconds: number
}

export const ACCESS_COOKIE = '__Host-er_token'
export const REFRESH_COOKIE = '__Secure-er_refresh'
const REFRESH_PATH = '/api/collections'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * CSRF protection by Origin check (OWASP CSRF Cheat Sheet, "Verifying Origin With Standard
 * Headers") on top of SameSite. Chosen over a double-submit token because browsers send `Origin`
 * on every cross-origin request and on every POST/PATCH/DELETE (Fetch standard), so it needs
 * nothing from the client, and because a double-submit token must be readable by page scripts,
 * which is what HttpOnly cookies are meant to avoid. Rules, for unsafe methods only:
 *   - an `Origin` that is neither this server nor a trusted origin is refused (this also stops
 *     login CSRF: a foreign page cannot sign a browser in to the attacker's account);
 *   - a request without `Origin` may not use the cookies (non-browser clients send a header).
 */
export async function registerAuthCookies(
  app: FastifyInstance,
  options: AuthCookieOptions,
): Promise<void> {
  await app.register(fastifyCookie)
  const trusted = new Set(options.trustedOrigins)
  // Callback style: a read (nearly every request) pays no promise here.
  app.addHook('onRequest', (request, _reply, done) => {
    if (SAFE_METHODS.has(request.method)) {
      request.authCookieToken = request.cookies[ACCESS_COOKIE]
      return done()
    }
    try {
      checkWriteOrigin(request, trusted)
    } catch (error) {
      return done(error as Error)
    }
    done()
  })
}

/** A write that carries cookies must come from a trusted origin (CSRF). */
function checkWriteOrigin(request: FastifyRequest, trusted: Set<string>): void {
  const origin = request.headers.origin
  const usesCookies =
    request.headers.authorization === undefined &&
    (request.cookies[ACCESS_COOKIE] !== undefined || request.cookies[REFRESH_COOKIE] !== undefined)
  if (origin !== undefined && !isTrusted(request, origin, trusted)) {
    throw new EngineError(
      'ER_AUTH_ORIGIN_REJECTED',
      'This request comes from an origin the server does not trust.',
    )
  }
  if (usesCookies && origin === undefined) {
    throw new EngineError(
      'ER_AUTH_ORIGIN_REJECTED',
      'Cookie-authenticated writes must carry an Origin header.',
    )
  }
  request.authCookieToken = request.cookies[ACCESS_COOKIE]
}

function isTrusted(request: FastifyRequest, origin: string, trusted: Set<string>): boolean {
  return origin === `${request.protocol}://${request.host}` || trusted.has(origin)
}

/** The refresh token a cookie-mode browser holds, if any. */
export function refreshCookieOf(request: FastifyRequest): string | undefined {
  return request.cookies?.[REFRESH_COOKIE]
}

export function setAuthCookies(
  reply: FastifyReply,
  options: AuthCookieOptions,
  tokens: { token: string; refreshToken: string },
): void {
  const common = { httpOnly: true, secure: true, sameSite: options.sameSite } as const
  reply.setCookie(ACCESS_COOKIE, tokens.token, {
    ...common,
    path: '/',
    maxAge: options.accessTtlSeconds,
  })
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, {
    ...common,
    path: REFRESH_PATH,
    maxAge: options.sessionTtlSeconds,
  })
}

export function clearAuthCookies(reply: FastifyReply, options: AuthCookieOptions): void {
  const common = { httpOnly: true, secure: true, sameSite: options.sameSite } as const
  reply.clearCookie(ACCESS_COOKIE, { ...common, path: '/' })
  reply.clearCookie(REFRESH_COOKIE, { ...common, path: REFRESH_PATH })
}
