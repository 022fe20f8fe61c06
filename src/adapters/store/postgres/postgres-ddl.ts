import { isMultiValued } from '../../../core/schema/field-info.js'
import type { FieldDef } from '../../../core/schema/types.js'

/**
 * Column types on PostgreSQL. Text columns use the "C" collation so that ordering and
 * comparisons are bytewise, exactly as SQLite's BINARY collation: the same sort gives the same
 * page on both dialects, and keyset cursors stay portable.
 */
export function postgresColumnType(field: FieldDef): string {
  if (isMultiValued(field)) return 'text collate "C"'
  switch (field.type) {
    case 'number':
      return 'double precision'
    case 'bool':
      // Unset reads (and so filters) as false, also for rows older than the column.
      return 'boolean not null default false'
    default:
      return 'text collate "C"'
  }
}

export const postgresSystemColumnTypes = { text: 'text collate "C"', bool: 'boolean' }
