import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { EngineError } from '../../core/errors/index.js'

/** A budget: at most `max` requests per `windowMs` for one caller. */
export interface Budget {
  max: number
  windowMs: number
}

/**
 * Who a verified caller is, for budgets: a signed-in superuser or a request with an API key
 * (scripts, integrations) gets read and write budgets of its own instead of a person's.
 */
export type CallerKind = 'user' | 'superuser' | 'apiKey'

export interface RateLimitOptions {
  /** `null` turns a class off. */
  budgets: { read: Budget | null; write: Budget | null; auth: Budget | null }
  /**
   * Read and write budgets of superusers and API keys (`ER_RATE_LIMIT_SUPERUSER_*`,
   * `ER_RATE_LIMIT_API_KEY_*`); a kind or class not given uses `budgets`. Auth routes always use
   * `budgets.auth`.
   */
  callerBudgets?: Partial<
    Record<Exclude<CallerKind, 'user'>, { read?: Budget | null; write?: Budget | null }>
  >
  /**
   * Budgets read per request instead of `budgets` and `callerBudgets` (settings changed at run
   * time); the hook is then registered even when every class starts off.
   */
  live?: () => Pick<RateLimitOptions, 'budgets' | 'callerBudgets'>
  /** Shared counters so a limit holds across nodes; in-process counters when absent. */
  redis?: Redis | undefined
  /** Prefix of the Redis keys (default `er:rl:`). */
  redisPrefix?: string
  /**
   * Verifies the bearer token (an access token or API key) and returns who it is; throws when
   * invalid. An access token is checked by its signature alone (no store read).
   */
  identifyCaller(
    request: FastifyRequest,
    token: string,
  ): Promise<{ subject: string; kind: CallerKind }>
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
  const fixed = { budgets: options.budgets, callerBudgets: options.callerBudgets }
  const current = options.live ?? (() => fixed)
  const everyBudget = [
    ...Object.values(fixed.budgets),
    ...Object.values(fixed.callerBudgets ?? {}).flatMap((c) => [c.read, c.write]),
  ]
  // Every class off for good: no hook at all, rather than one that lets everything through.
  if (!options.live && everyBudget.every((b) => b === null || b === undefined)) return
  // Set by the key generator, which runs first (the plugin then asks the allow list, max and
  // time window): the budget of this request's class and caller.
  const chosen = new WeakMap<FastifyRequest, Budget | null>()
  const budgetOf = (request: FastifyRequest) => chosen.get(request) as Budget
  await app.register(rateLimit, {
    global: true,
    enableDraftSpec: true,
    skipOnError: true,
    ...(options.redis ? { redis: options.redis, nameSpace: options.redisPrefix ?? 'er:rl:' } : {}),
    // The key is made before the allow list is asked: an unlimited class skips the caller.
    keyGenerator: async (request) => {
      const { budgets, callerBudgets: classes = {} } = current()
      const budgetClass = budgetClassOf(request)
      const caller = await callerOf(request, options)
      const special =
        budgetClass === 'auth' || caller.kind === 'user' ? undefined : classes[caller.kind]
      const own = special?.[budgetClass as 'read' | 'write']
      const budget = own !== undefined ? own : budgets[budgetClass]
      chosen.set(request, budget)
      if (budget === null) return `${budgetClass}:unlimited`
      // A class of its own counts apart: a superuser's script never spends its person's budget.
      const kind = own !== undefined ? `.${caller.kind}` : ''
      // A budget changed in the settings counts afresh rather than judging hits made under the
      // old one; the server's own budget keeps the plain key.
      const changed = !sameBudget(budget, staticBudget(fixed, budgetClass, caller.kind))
      const tag = changed ? `@${budget.max}/${budget.windowMs}` : ''
      return `${budgetClass}${kind}${tag}:${caller.key}`
    },
    allowList: (request) => chosen.get(request) === null,
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

const sameBudget = (a: Budget | null | undefined, b: Budget | null | undefined) =>
  a?.max === b?.max && a?.windowMs === b?.windowMs

/** The budget the server was built with for this class and caller. */
function staticBudget(
  fixed: Pick<RateLimitOptions, 'budgets' | 'callerBudgets'>,
  budgetClass: BudgetClass,
  kind: CallerKind,
): Budget | null | undefined {
  const special =
    budgetClass === 'auth' || kind === 'user' ? undefined : fixed.callerBudgets?.[kind]
  const own = special?.[budgetClass as 'read' | 'write']
  return own !== undefined ? own : fixed.budgets[budgetClass]
}

async function callerOf(
  request: FastifyRequest,
  options: RateLimitOptions,
): Promise<{ key: string; kind: CallerKind }> {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(request.headers.authorization ?? '')
  if (match) {
    try {
      const caller = await options.identifyCaller(request, match[1] as string)
      return { key: `user:${caller.subject}`, kind: caller.kind }
    } catch {
      // Falls through to the address: an invalid token is answered 401 by the route anyway,
      // and a forged one never earns a budget (or a budget class) of its own.
    }
  }
  return { key: `ip:${request.ip}`, kind: 'user' }
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
