import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { EngineError } from '../../core/errors/index.js'

/** A budget: at most `max` requests per `windowMs` for one caller. */
export interface Budget {
  max: number
  windowMs: number
}

export interface RateLimitOptions {
  /** `null` turns a class off. */
  budgets: { read: Budget | null; write: Budget | null; auth: Budget | null }
  /** Shared counters so a limit holds across nodes; in-process counters when absent. */
  redis?: Redis | undefined
  /** Prefix of the Redis keys (default `er:rl:`). */
  redisPrefix?: string
  /** Verifies an access token's signature and returns its subject; throws when invalid. */
  tokenSubject(token: string): Promise<string>
}

type BudgetClass = keyof RateLimitOptions['budgets']

const AUTH_PATH = /^\/api\/collections\/[^/]+\/auth\//
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const GRAPHQL_PATH = /^\/graphql\/?(\?|$)/
const GRAPHQL_AUTH = /\bauth(WithPassword|Refresh|MfaVerify)[A-Za-z0-9_]*/
const GRAPHQL_MUTATION = /\bmutation\b/

/**
 * Auth routes (`/api/collections/*\/auth/*`) first, then writes (any non-read method), then
 * reads. A GraphQL POST is classed by its document (the route checks its budget after the body
 * is read): one that signs in is `auth`, one with a mutation `write`, any other `read`. A
 * document naming both a query and a mutation counts as the stricter one.
 */
export function budgetClassOf(request: FastifyRequest): BudgetClass {
  if (AUTH_PATH.test(request.url)) return 'auth'
  if (request.method === 'POST' && GRAPHQL_PATH.test(request.url)) {
    const text = graphqlDocuments(request.body)
    if (GRAPHQL_AUTH.test(text)) return 'auth'
    return GRAPHQL_MUTATION.test(text) ? 'write' : 'read'
  }
  return READ_METHODS.has(request.method) ? 'read' : 'write'
}

/**
 * Rate limits per caller and per class of route. The caller is the token's subject when the
 * request carries a valid token (so users behind one NAT do not share a budget), otherwise the
 * client address (`ER_TRUST_PROXY` decides how far `X-Forwarded-For` is believed). A forged or
 * expired token counts against the address, never against a subject it names.
 *
 * When Redis fails the limiter lets requests through (fail open, logged): a cache outage should
 * not become an API outage; readiness reports Redis as failing meanwhile.
 *
 * Must be registered before the routes it covers (it attaches itself on `onRoute`).
 */
export async function registerRateLimit(
  app: FastifyInstance,
  options: RateLimitOptions,
): Promise<void> {
  const { budgets } = options
  // Every class off: no hook at all, rather than one that lets everything through.
  if (budgets.read === null && budgets.write === null && budgets.auth === null) return
  const budgetOf = (request: FastifyRequest) => budgets[budgetClassOf(request)] as Budget
  await app.register(rateLimit, {
    global: true,
    enableDraftSpec: true,
    skipOnError: true,
    ...(options.redis ? { redis: options.redis, nameSpace: options.redisPrefix ?? 'er:rl:' } : {}),
    // The key is made before the allow list is asked: an unlimited class skips the caller.
    keyGenerator: async (request) => {
      const budgetClass = budgetClassOf(request)
      if (budgets[budgetClass] === null) return `${budgetClass}:unlimited`
      return `${budgetClass}:${await callerOf(request, options)}`
    },
    allowList: (request) => budgets[budgetClassOf(request)] === null,
    max: (request) => budgetOf(request).max,
    timeWindow: (request) => budgetOf(request).windowMs,
    errorResponseBuilder: (request, context) =>
      new EngineError(
        'ER_RATE_LIMITED',
        `Too many requests: the budget is ${context.max} per ${budgetOf(request).windowMs / 1000} s; retry in ${context.after}.`,
      ),
    onExceeded: (request, key) => request.log.warn({ rateLimitKey: key }, 'rate limit exceeded'),
  })
}

async function callerOf(request: FastifyRequest, options: RateLimitOptions): Promise<string> {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(request.headers.authorization ?? '')
  if (match) {
    try {
      return `user:${await options.tokenSubject(match[1] as string)}`
    } catch {
      // Falls through to the address: an invalid token is answered 401 by the route anyway.
    }
  }
  return `ip:${request.ip}`
}

/**
 * The GraphQL documents of a request body as the server will run them: the `query` of the
 * parsed JSON (each one, for a batch), or the raw text when the body did not parse. GraphQL has
 * no escapes in names or keywords, so a mutation or sign-in is always visible in this text.
 */
function graphqlDocuments(body: unknown): string {
  if (typeof body === 'string') return body
  const operations = Array.isArray(body) ? body : [body]
  return operations
    .map((operation) => {
      const query = (operation as { query?: unknown } | null)?.query
      return typeof query === 'string' ? query : ''
    })
    .join('\n')
}
