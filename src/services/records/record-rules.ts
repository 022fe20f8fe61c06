import { EngineError } from '../../core/errors/index.js'
import { checkFilter, type CheckedExpr } from '../../core/filter/check.js'
import { parseFilter } from '../../core/filter/parser.js'
import type { CollectionDef, RuleName } from '../../core/schema/types.js'
import type { Condition } from '../../adapters/store/store.js'
import type { FilterValues } from '../../adapters/store/compile-filter-values.js'
import type { AuthIdentity, RequestContext } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'

/**
 * What one access rule grants the caller: nothing (`denied`), every record (`expr` null), or
 * the records that meet `expr`. Callers turn it into SQL, never into a post-filter.
 */
export type RuleAccess = { kind: 'denied' } | { kind: 'granted'; expr: CheckedExpr | null }

const GRANT_ALL: RuleAccess = { kind: 'granted', expr: null }
const DENIED: RuleAccess = { kind: 'denied' }

/** A checked rule per collection definition, rule and auth collection (`null` = refused). */
const ruleCache = new WeakMap<CollectionDef, Map<string, CheckedExpr | null>>()

/**
 * Resolves the `action` rule of `collection` for the caller:
 * superusers → everything; `null` → denied; `""` → everything; an expression → its condition.
 *
 * A rule is checked against the caller's auth collection, so `@request.auth.team.name` follows
 * relations of that collection. When the rule names an `@request.auth` field the caller's
 * collection lacks (a token from another auth collection), it grants that caller nothing: a
 * rule that cannot be understood fails closed.
 *
 * @example
 *   const access = resolveRule(ctx, registry, posts, 'list')  // rule `author = @request.auth.id`
 *   store.selectRecords({ collection: posts, where: ruleConditions(access, values), … })
 *   // … where (("r"."author" = ?)) and (<client filter>)   -- ? is the caller's id
 */
export function resolveRule(
  ctx: RequestContext,
  registry: SchemaRegistry,
  collection: CollectionDef,
  action: RuleName,
): RuleAccess {
  if (ctx.auth?.isSuperuser === true) return GRANT_ALL
  const text = collection.rules[action]
  if (text === null) return DENIED
  if (text.trim() === '') return GRANT_ALL
  const expr = checkedRule(registry, collection, action, text, ctx.auth?.collection)
  return expr ? { kind: 'granted', expr } : DENIED
}

/** The SQL conditions of a granted rule with this request's values (none: every record). */
export function ruleConditions(
  access: RuleAccess & { kind: 'granted' },
  values: FilterValues,
): Condition[] {
  return access.expr ? [{ expr: access.expr, values }] : []
}

function checkedRule(
  registry: SchemaRegistry,
  collection: CollectionDef,
  action: RuleName,
  text: string,
  authCollection: CollectionDef | undefined,
): CheckedExpr | null {
  let cache = ruleCache.get(collection)
  if (!cache) ruleCache.set(collection, (cache = new Map()))
  const key = `${action}\n${authCollection?.id ?? ''}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  let checked: CheckedExpr | null
  try {
    checked = checkFilter(parseFilter(text), {
      collection,
      findCollection: (name) => registry.find(name),
      mode: 'rule',
      ...(authCollection ? { authCollection } : {}),
    })
  } catch (error) {
    if (!(error instanceof EngineError)) throw error
    checked = null
  }
  cache.set(key, checked)
  return checked
}

/**
 * The macro values a rule sees. `@request.auth` is the caller's record plus its collection's
 * name and id, or `null` for anonymous callers (unbound: it equals nothing, see
 * docs/reference/query-language.md). `@now` is read from `now` only if a rule uses it: turning
 * the clock into text is a visible part of a cheap request.
 */
export function ruleValues(
  ctx: RequestContext,
  now: () => string,
  body: Record<string, unknown> = {},
  stored?: Record<string, unknown>,
): FilterValues {
  const auth = ctx.auth ? authValues(ctx.auth) : null
  let at: string | undefined
  return {
    get now() {
      return (at ??= now())
    },
    auth,
    body,
    query: ctx.query,
    ...(stored ? { stored } : {}),
  }
}

const authValuesOf = new WeakMap<AuthIdentity, Readonly<Record<string, unknown>>>()

/**
 * `@request.auth`'s values. A frozen identity (every one the auth service hands out) cannot
 * change, so its values are built once and shared by its requests.
 */
function authValues(identity: AuthIdentity): Readonly<Record<string, unknown>> {
  let values = authValuesOf.get(identity)
  if (values) return values
  values = Object.freeze({
    ...identity.record,
    collectionName: identity.collection.name,
    collectionId: identity.collection.id,
  })
  if (Object.isFrozen(identity) && Object.isFrozen(identity.record)) {
    authValuesOf.set(identity, values)
  }
  return values
}

/**
 * The error for a refused action the caller may know about: 401 when anonymous (signing in
 * might help), 403 when signed in.
 */
export function accessDenied(ctx: RequestContext, collection: CollectionDef): EngineError {
  return ctx.auth
    ? new EngineError('ER_FORBIDDEN', `You may not do this in "${collection.name}".`)
    : new EngineError('ER_AUTH_REQUIRED', `Sign in to do this in "${collection.name}".`)
}

export function recordNotFound(collection: CollectionDef, id: string): EngineError {
  return new EngineError(
    'ER_RECORD_NOT_FOUND',
    `There is no record "${id}" in "${collection.name}".`,
  )
}

/**
 * Whether a client filter may follow a relation (or `@collection`) into `target`. Superusers
 * reach everything; others only collections whose list rule is `""` (anyone may list them), so
 * that no filter, sort or join can probe the values of records the caller could not list.
 */
export function traversalGuard(ctx: RequestContext): ((target: CollectionDef) => boolean) | null {
  if (ctx.auth?.isSuperuser === true) return null
  return (target) => target.rules.list !== null && target.rules.list.trim() === ''
}
