import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'

/** The 409 for a unique violation, naming each field of the violated index. */
export function uniqueConflict(
  collection: CollectionDef | undefined,
  columns: string[],
): EngineError {
  const fields = columns.length > 0 ? columns : ['id']
  const where = collection ? ` in "${collection.name}"` : ''
  return new EngineError(
    'ER_RECORD_CONFLICT',
    `Another record${where} already has this ${fields.map((f) => `"${f}"`).join(' + ')}.`,
    {
      errors: Object.fromEntries(
        fields.map((f) => [f, [{ code: 'unique', message: 'must be unique' }]]),
      ),
    },
  )
}
