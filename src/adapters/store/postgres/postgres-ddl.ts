import { isMultiValued } from '../../../core/schema/field-info.js'
import type { FieldDef } from '../../../core/schema/types.js'
import type { ColumnType } from '../dialect-adapter.js'

const TEXT: ColumnType = { type: 'text', collate: 'collate "C"' }

/**
 * Column types on PostgreSQL. Text columns use the "C" collation so that ordering and
 * comparisons are bytewise, exactly as SQLite's BINARY collation: the same sort gives the same
 * page on both dialects, and keyset cursors stay portable.
 */
export function postgresColumnType(field: FieldDef): ColumnType {
  if (isMultiValued(field)) return TEXT
  switch (field.type) {
    case 'number':
      return { type: 'double precision' }
    case 'bool':
      // Unset reads (and so filters) as false, also for rows older than the column.
      return { type: 'boolean', constraints: 'not null default false' }
    default:
      return TEXT
  }
}

export const postgresSystemColumnTypes = { text: 'text collate "C"', bool: 'boolean' }
