import { EngineError } from '../core/errors/index.js'
import type { RequestContext } from './context.js'

/** The schema is for superusers only (records follow each collection's access rules). */
export function requireSuperuser(ctx: RequestContext): void {
  if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser to do this.')
  if (!ctx.auth.isSuperuser) throw new EngineError('ER_FORBIDDEN', 'Only superusers may do this.')
}
