import type { StoreSession } from '../../adapters/store/store.js'
import { SUPERUSERS } from '../../core/schema/system-collections.js'
import type { RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { Caller, RecordsClient } from './extension-api.js'

/** How deep hooks may nest (a hook's write running hooks whose writes run hooks …). */
export const MAX_HOOK_DEPTH = 8

/**
 * The records API for an extension, acting as `ctx`'s caller: the same service calls REST makes,
 * so the caller's access rules, scopes and limits apply unchanged. With `tx`, every call joins
 * that transaction (a `before` hook's). Calls made through it count one hook level deeper.
 */
export function createRecordsClient(
  records: RecordsService,
  ctx: RequestContext,
  tx?: StoreSession,
): RecordsClient {
  const inner: RequestContext = { ...ctx, hookDepth: (ctx.hookDepth ?? 0) + 1 }
  return {
    list: (collection, params = {}) => records.list(inner, collection, params, tx),
    view: (collection, id, params = {}) => records.view(inner, collection, id, params, tx),
    create: (collection, body) => records.create(inner, collection, body, tx),
    update: (collection, id, body) => records.update(inner, collection, id, body, tx),
    delete: (collection, id) => records.remove(inner, collection, id, tx),
  }
}

/** A superuser's context for `sudo`, keeping the request id (and hook depth) of `ctx`. */
export function sudoContext(registry: SchemaRegistry, ctx: RequestContext): RequestContext {
  return {
    auth: {
      collection: registry.get(SUPERUSERS.name),
      record: { id: 'extension' },
      isSuperuser: true,
    },
    requestId: ctx.requestId,
    query: {},
    ...(ctx.hookDepth !== undefined ? { hookDepth: ctx.hookDepth } : {}),
  }
}

/** The caller as an extension sees it: who, never their token or secrets. */
export function callerOf(ctx: RequestContext): Caller | null {
  const auth = ctx.auth
  if (!auth) return null
  return {
    collection: auth.collection.name,
    id: String(auth.record.id),
    isSuperuser: auth.isSuperuser,
    ...(auth.apiKey ? { apiKeyId: auth.apiKey.id } : {}),
  }
}

/** Refuses a call nested deeper than MAX_HOOK_DEPTH (hooks writing into each other forever). */
export function checkHookDepth(ctx: RequestContext, what: string): void {
  if ((ctx.hookDepth ?? 0) >= MAX_HOOK_DEPTH) {
    throw new Error(
      `${what}: extension hooks nested more than ${MAX_HOOK_DEPTH} deep (a hook's write keeps triggering hooks).`,
    )
  }
}
