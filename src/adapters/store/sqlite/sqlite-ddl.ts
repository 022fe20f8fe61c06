import { isMultiValued } from '../../../core/schema/field-info.js'
import type { FieldDef } from '../../../core/schema/types.js'
import type { ColumnType } from '../dialect-adapter.js'

const TEXT: ColumnType = { type: 'TEXT' }

/**
 * Column types on SQLite. Dates are ISO 8601 text, so text order is time order; multi-valued
 * fields and JSON are JSON text (read with json_each).
 */
export function sqliteColumnType(field: FieldDef): ColumnType {
  if (isMultiValued(field)) return TEXT
  switch (field.type) {
    case 'number':
      return { type: 'REAL' }
    case 'bool':
      // A bool the client never set reads as false, so it must also filter as false, including
      // rows that existed before the column was added.
      return { type: 'INTEGER', constraints: 'NOT NULL DEFAULT 0' }
    default:
      return TEXT
  }
}

export const sqliteSystemColumnTypes = { text: 'TEXT', bool: 'INTEGER' }
