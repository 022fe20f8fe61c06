import { EngineError } from '../../../core/errors/index.js'
import type { CollectionDef } from '../../../core/schema/types.js'
import { schemaChanged } from '../schema-changed.js'
import { uniqueConflict } from '../unique-conflict.js'

/**
 * better-sqlite3 raises `SqliteError` with an extended result code. A unique violation reads
 * "UNIQUE constraint failed: posts.slug" (several `table.column` for a composite index).
 */
export function translateSqliteError(
  error: unknown,
  collection: CollectionDef | undefined,
): Error | undefined {
  if (!(error instanceof Error) || !('code' in error)) return undefined
  const code = String((error as { code: unknown }).code)
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const columns = /constraint failed: (.+)$/
      .exec(error.message)?.[1]
      ?.split(', ')
      .map((c) => c.split('.').pop() ?? c)
    return uniqueConflict(collection, columns ?? [])
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new EngineError('ER_UNAVAILABLE', 'The database is busy; retry the request.', {
      cause: error,
    })
  }
  // SQLite names a missing column or table only in the message, under the generic SQLITE_ERROR:
  // the statement was built from a definition that another process has since changed.
  if (code === 'SQLITE_ERROR' && STALE_DEFINITION.test(error.message)) {
    return schemaChanged(collection, error)
  }
  return undefined
}

/** "no such column: title", "no such table: posts", "table posts has no column named title". */
const STALE_DEFINITION = /^(no such column: |no such table: |table \S+ has no column named )/
