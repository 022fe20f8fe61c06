import { EngineError } from '../../core/errors/index.js'
import type { RequestContext } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { passwordBudgetLeft, restorePasswordBudget } from './credential-writes.js'

/**
 * Runs a whole service call, and runs it once more when it failed only because this node's copy
 * of the schema was stale: another node had just created, changed or dropped a collection and
 * neither its announcement on the bus nor the poll had reached this node yet.
 * - ER_SCHEMA_CHANGED (the store's dialect error translation: a column or table the statement
 *   named is gone): the schema is reloaded and the call retried. Its transaction rolled back, so
 *   the retry cannot apply a write twice.
 * - ER_COLLECTION_NOT_FOUND, or a field the body, filter or query names that is unknown: retried
 *   only when the schema version in the store moved, i.e. the collection or field may exist
 *   now; a name that is simply unknown costs one primary-key read.
 * A retry that fails again is answered as it fails: a 404, a 400 naming a dropped field, or a
 * 503 ER_SCHEMA_CHANGED when the schema changed yet again (never a 500). The request's password
 * budget is given back before the retry, so the retry neither spends it twice nor loses it.
 *
 * Only the owner of a transaction may retry: a call that joined a caller's transaction (batch)
 * lets the error reach that caller, whose transaction was aborted by it.
 *
 * @example
 *   return retryOnFreshSchema(registry, ctx, () => listOnce(ctx, name, params))
 */
export async function retryOnFreshSchema<T>(
  registry: SchemaRegistry,
  ctx: RequestContext,
  work: () => Promise<T>,
): Promise<T> {
  const budget = passwordBudgetLeft(ctx)
  const version = registry.version
  try {
    return await work()
  } catch (error) {
    if (!(await refreshedAfter(registry, version, error))) throw error
    restorePasswordBudget(ctx, budget)
    return work()
  }
}

/** Whether `error` came from a stale schema (the one at `version`), which is now reloaded. */
async function refreshedAfter(
  registry: SchemaRegistry,
  version: string,
  error: unknown,
): Promise<boolean> {
  if (!(error instanceof EngineError)) return false
  if (error.code === 'ER_SCHEMA_CHANGED') {
    await registry.reload()
    return true
  }
  if (error.code === 'ER_COLLECTION_NOT_FOUND' || namesUnknownField(error)) {
    return registry.recheck(version)
  }
  return false
}

/** A 400 for a field name the definition lacks (it may have been added by another node). */
function namesUnknownField(error: EngineError): boolean {
  if (error.code === 'ER_FILTER_UNKNOWN_FIELD') return true
  if (error.status !== 400 || !error.errors) return false
  return Object.values(error.errors).some((issues) => issues.some((i) => i.code === 'unknown'))
}
