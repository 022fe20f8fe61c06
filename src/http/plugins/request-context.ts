import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RequestContext } from '../../services/context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Built lazily by `contextOf`; routes that need no identity never pay for token checks. */
    engineContext?: RequestContext
  }
}

const MAX_TOKEN_LENGTH = 4096

/** The token of an `Authorization: Bearer <token>` value, or null when it is not one. */
export function bearerTokenOf(header: string): string | null {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header)
  return match && header.length <= MAX_TOKEN_LENGTH ? (match[1] as string) : null
}

/** Accepts a client's `X-Request-Id` when it is short and plain; otherwise makes one. */
export function requestIdFrom(header: unknown): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header)
    ? header
    : randomUUID()
}

/**
 * The RequestContext of a request: who calls (from `Authorization: Bearer <token>`), its id and
 * query. A malformed or invalid token is a 401, never a silent fall back to anonymous.
 * Synchronous when the caller is anonymous or already known to this node (the common case):
 * only a token to check takes an async step.
 */
export function contextOf(
  request: FastifyRequest,
  auth: AuthService,
): RequestContext | Promise<RequestContext> {
  if (request.engineContext) return request.engineContext
  // A header wins over the cookie; the cookie is only read when cookie mode is on.
  const header =
    request.headers.authorization ??
    (request.authCookieToken ? `Bearer ${request.authCookieToken}` : undefined)
  if (header === undefined) return remember(request, null)
  const token = bearerTokenOf(header)
  if (token === null) {
    throw new EngineError(
      'ER_AUTH_TOKEN_INVALID',
      'Send the token as "Authorization: Bearer <token>".',
    )
  }
  const known = auth.knownCaller(token)
  if (known) return remember(request, known)
  return auth.identify(token).then((identity) => remember(request, identity))
}

function remember(request: FastifyRequest, identity: RequestContext['auth']): RequestContext {
  const query: Record<string, string> = {}
  const given = (request.query ?? {}) as Record<string, unknown>
  for (const key in given) {
    const value = given[key]
    if (typeof value === 'string') query[key] = value
  }
  request.engineContext = { auth: identity, requestId: String(request.id), query, ip: request.ip }
  return request.engineContext
}
