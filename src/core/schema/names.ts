import { AUTH_SYSTEM_FIELDS, BASE_SYSTEM_FIELDS, type CollectionType } from './types.js'

/**
 * Collection and field names become SQL identifiers (always quoted, never from anywhere but the
 * schema), GraphQL names and URL segments, so they keep to a portable subset. 63 is PostgreSQL's
 * identifier limit.
 */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** Names every collection reserves for its system fields (or for the API's own keys). */
export function reservedFieldNames(type: CollectionType): Set<string> {
  const names = new Set<string>([...BASE_SYSTEM_FIELDS, 'expand', 'collectionName', 'collectionId'])
  if (type === 'auth') {
    for (const name of AUTH_SYSTEM_FIELDS) names.add(name)
    // The key an update sends the current password in, beside a new `password`.
    names.add('oldPassword')
  }
  return names
}

/** SQLite compares identifiers without regard to case, so two names differing only in case clash. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}
