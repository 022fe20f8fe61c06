import { EngineError } from '../core/errors/index.js'
import type { RequestContext } from './context.js'
import { requireSuperuser, type RecordOperation } from './access.js'

/**
 * Jobs, webhooks and mail templates are for superusers. A superuser's API key may use them only
 * with a scope on every collection (`*`) that names the operation: `list`/`view` to read,
 * `create`/`update`/`delete` to change (a key scoped to some collections stays a records key).
 */
export function requireAdminScope(ctx: RequestContext, operation: RecordOperation): void {
  requireSuperuser(ctx)
  const key = ctx.auth?.apiKey
  if (key && !key.scopes.some((s) => s.collection === '*' && s.operations.includes(operation))) {
    throw new EngineError(
      'ER_FORBIDDEN',
      `This API key may not ${operation} here: it needs the "*" scope with "${operation}".`,
    )
  }
}
