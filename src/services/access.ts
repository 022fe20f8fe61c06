import { EngineError } from '../core/errors/index.js'
import type { ApiKeyScope } from '../adapters/store/store.js'
import type { RequestContext } from './context.js'

/** The schema is for superusers only (records follow each collection's access rules). */
export function requireSuperuser(ctx: RequestContext): void {
  if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser to do this.')
  if (!ctx.auth.isSuperuser) throw new EngineError('ER_FORBIDDEN', 'Only superusers may do this.')
}

/** Schema changes: a superuser signed in as such; an API key never (its scopes are record-only). */
export function requireSchemaAdmin(ctx: RequestContext): void {
  requireSuperuser(ctx)
  if (ctx.auth?.apiKey) throw new EngineError('ER_FORBIDDEN', 'API keys cannot change the schema.')
}

export type RecordOperation = ApiKeyScope['operations'][number]

/**
 * An API key may do only what its scopes name, whatever its owner could do otherwise. Other
 * callers pass untouched (rules decide for them). Expanding relations reads other collections,
 * so a key needs the `*` collection scope for it.
 *
 * @example
 *   requireScope(ctx, 'posts', 'list', params.expand)
 */
export function requireScope(
  ctx: RequestContext,
  collection: string,
  operation: RecordOperation,
  expand?: string,
): void {
  const key = ctx.auth?.apiKey
  if (!key) return
  const allowed = (name: string) =>
    key.scopes.some(
      (s) => (s.collection === name || s.collection === '*') && s.operations.includes(operation),
    )
  if (!allowed(collection)) {
    throw new EngineError(
      'ER_FORBIDDEN',
      `This API key may not ${operation} records of "${collection}".`,
    )
  }
  if (expand && !key.scopes.some((s) => s.collection === '*' && s.operations.includes('view'))) {
    throw new EngineError('ER_FORBIDDEN', 'Only an API key scoped to every collection may expand.')
  }
}
