import { EngineError } from '../../../core/errors/index.js'
import type { CollectionDef } from '../../../core/schema/types.js'
import { allIndexes } from '../collection-ddl.js'
import { schemaChanged } from '../schema-changed.js'
import { uniqueConflict } from '../unique-conflict.js'

/**
 * pg raises errors with SQLSTATE `code` and the violated `constraint` (for unique indexes, the
 * index name, which we map back to its fields from the definition rather than parsing `detail`).
 */
export function translatePostgresError(
  error: unknown,
  collection: CollectionDef | undefined,
): Error | undefined {
  if (!(error instanceof Error) || !('code' in error)) return undefined
  const { code, constraint } = error as { code?: string; constraint?: string }
  if (code === '23505') {
    const index = collection ? allIndexes(collection).find((i) => i.name === constraint) : undefined
    const columns = index?.fields ?? (constraint?.endsWith('_pkey') ? ['id'] : [])
    return uniqueConflict(collection, columns)
  }
  // serialization_failure, deadlock_detected, lock_not_available, too_many_connections
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '53300') {
    return new EngineError('ER_UNAVAILABLE', 'The database is busy; retry the request.', {
      cause: error,
    })
  }
  // undefined_column, undefined_table: the statement was built from a definition that another
  // node has since changed (a field or collection dropped or renamed).
  if (code === '42703' || code === '42P01') return schemaChanged(collection, error)
  // feature_not_supported, as a prepared statement whose table changed shape reports it
  // ("cached plan must not change result type"); see prepared-pool.ts.
  if (code === '0A000' && /cached plan/.test(error.message)) return schemaChanged(collection, error)
  return undefined
}
