import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'

/**
 * The error for a statement that failed because the definition it was built from is stale: a
 * column or table it names is gone (another node or process dropped or renamed it). Nothing was
 * applied (the failed statement's transaction rolls back), so the caller may reload the schema
 * and run the whole operation again; see `retryOnFreshSchema` in the records service.
 */
export function schemaChanged(collection: CollectionDef | undefined, cause: unknown): EngineError {
  const what = collection ? `The collection "${collection.name}"` : 'The schema'
  return new EngineError(
    'ER_SCHEMA_CHANGED',
    `${what} changed while the request ran; retry the request.`,
    { cause },
  )
}
