import { couldGrant, type CallerClass } from '../core/filter/could-grant.js'
import type { CollectionDef, FieldDef, RuleName } from '../core/schema/types.js'
import type { ApiKeyScope } from '../adapters/store/store.js'
import type { RequestContext } from './context.js'
import { resolveRule } from './records/record-rules.js'
import type { SchemaRegistry } from './schema/schema-registry.js'

/**
 * How much of a collection a caller's API description shows: nothing; only what any account of
 * an auth collection needs (sign-in and the other auth endpoints, and the record's system
 * fields: signing in is open to everyone, rules or not); or its records, as far as rules allow.
 */
export type Reach = 'none' | 'account' | 'records'

/**
 * What the OpenAPI document and the GraphQL schema show one caller: the collections,
 * operations and fields some rule could ever grant it (superusers: everything). It depends only
 * on the caller's visibility class — anonymous, signed in to a given auth collection, a
 * superuser, each narrowed by an API key's scopes — never on the caller's own record, so a
 * description is built once per class and schema version and shared.
 */
export interface CallerVisibility {
  /** The visibility class; callers with the same key are shown the same description. */
  readonly key: string
  /** Who the description is for, in words (`anonymous callers`, `records of "users"`). */
  readonly audience: string
  /** A superuser (perhaps through a scoped API key): hidden fields' values and the schema API. */
  readonly superuser: boolean
  /** Whether the schema endpoints (`/api/collections`) are described. */
  readonly showsSchemaApi: boolean
  /** Whether relations may be expanded (an API key needs a `*` view scope for it). */
  readonly mayExpand: boolean
  /** Whether some rule could let the caller do `action` in `collection` (and its key's scopes do). */
  may(collection: CollectionDef, action: RuleName): boolean
  reach(collection: CollectionDef): Reach
  /** Whether the field is in records the caller reads (`hidden` ones: superusers only). */
  returnsField(field: FieldDef): boolean
  /**
   * Whether the field is in what the caller may write: a hidden field can be set by whoever
   * may create or update (so its name is shown there), unless it is also `protected`.
   */
  acceptsField(field: FieldDef): boolean
}

const ACTIONS: readonly RuleName[] = ['list', 'view', 'create', 'update', 'delete']

/** Everything, hidden fields as write-only inputs: a description built for no caller. */
export const UNFILTERED_VISIBILITY: CallerVisibility = {
  key: 'unfiltered',
  audience: 'every caller',
  superuser: false,
  showsSchemaApi: true,
  mayExpand: true,
  may: () => true,
  reach: () => 'records',
  returnsField: (field) => field.hidden !== true,
  acceptsField: () => true,
}

const byCatalogue = new WeakMap<object, Map<string, CallerVisibility>>()
/** Classes remembered per schema version (each API key's scopes are a class of their own). */
const MAX_CLASSES = 64

/**
 * The visibility of the caller of `ctx` under the registry's current schema, shared by every
 * caller of its class until the schema changes.
 *
 * @example
 *   const view = callerVisibility(ctx, registry)
 *   view.may(registry.get('notes'), 'list') // false for anonymous when list is `owner = @request.auth.id`
 */
export function callerVisibility(ctx: RequestContext, registry: SchemaRegistry): CallerVisibility {
  const key = visibilityKey(ctx)
  let classes = byCatalogue.get(registry.catalogue)
  if (!classes) byCatalogue.set(registry.catalogue, (classes = new Map()))
  let view = classes.get(key)
  if (!view) {
    view = buildVisibility(ctx, registry, key)
    if (classes.size >= MAX_CLASSES) classes.delete(classes.keys().next().value as string)
    classes.set(key, view)
  }
  return view
}

const scopeKeys = new WeakMap<object, string>()

/** `anonymous`, `superuser`, `auth:<collection id>`, each `|<scopes>` for an API key. */
export function visibilityKey(ctx: RequestContext): string {
  const auth = ctx.auth
  if (!auth) return 'anonymous'
  const base = auth.isSuperuser ? 'superuser' : `auth:${auth.collection.id}`
  if (!auth.apiKey) return base
  let scopes = scopeKeys.get(auth.apiKey)
  if (scopes === undefined) {
    scopes = canonicalScopes(auth.apiKey.scopes)
    scopeKeys.set(auth.apiKey, scopes)
  }
  return `${base}|${scopes}`
}

function canonicalScopes(scopes: readonly ApiKeyScope[]): string {
  const byCollection = new Map<string, Set<string>>()
  for (const scope of scopes) {
    const ops = byCollection.get(scope.collection) ?? new Set<string>()
    for (const op of scope.operations) ops.add(op)
    byCollection.set(scope.collection, ops)
  }
  return JSON.stringify(
    [...byCollection]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([collection, ops]) => [collection, [...ops].sort()]),
  )
}

function buildVisibility(
  ctx: RequestContext,
  registry: SchemaRegistry,
  key: string,
): CallerVisibility {
  const auth = ctx.auth
  const superuser = auth?.isSuperuser === true
  // Rules are resolved for the class, not the caller: no record values are kept or read.
  const classContext: RequestContext = {
    auth: auth ? { collection: auth.collection, record: {}, isSuperuser: superuser } : null,
    requestId: 'visibility',
    query: {},
  }
  const caller: CallerClass = auth
    ? { kind: 'auth', collection: auth.collection }
    : { kind: 'anonymous' }
  const scopes = auth?.apiKey?.scopes
  const scoped = (collection: CollectionDef, action: RuleName) =>
    scopes === undefined ||
    scopes.some(
      (s) =>
        (s.collection === collection.name || s.collection === '*') && s.operations.includes(action),
    )
  const decided = new Map<string, boolean>()
  const may = (collection: CollectionDef, action: RuleName): boolean => {
    const id = `${collection.id}\n${action}`
    let answer = decided.get(id)
    if (answer === undefined) {
      const access = scoped(collection, action)
        ? resolveRule(classContext, registry, collection, action)
        : undefined
      answer =
        access !== undefined &&
        access.kind === 'granted' &&
        (access.expr === null || couldGrant(access.expr, caller))
      decided.set(id, answer)
    }
    return answer
  }
  return {
    key,
    audience: audienceOf(ctx),
    superuser,
    showsSchemaApi: superuser,
    // As requireScope has it.
    mayExpand:
      scopes === undefined ||
      scopes.some((s) => s.collection === '*' && s.operations.includes('view')),
    may,
    reach: (collection) =>
      ACTIONS.some((action) => may(collection, action))
        ? 'records'
        : collection.type === 'auth'
          ? 'account'
          : 'none',
    returnsField: (field) => superuser || field.hidden !== true,
    acceptsField: (field) => superuser || !(field.hidden === true && field.protected === true),
  }
}

function audienceOf(ctx: RequestContext): string {
  const auth = ctx.auth
  const who = !auth
    ? 'anonymous callers'
    : auth.isSuperuser
      ? 'superusers'
      : `signed-in records of "${auth.collection.name}"`
  return auth?.apiKey ? `${who}, through an API key with these scopes` : who
}
