import type { CollectionDef } from '../../core/schema/types.js'

/**
 * The component-name stem of each collection, keyed by collection name.
 *
 * Rule: split the name on every character outside `[A-Za-z0-9]`, upper-case the first letter of
 * each part and join them (`_superusers` → `Superusers`, `blog_posts` → `BlogPosts`); a name with
 * no letters or digits becomes `Collection`. Stems are then made unique: when several names give
 * the same stem, the one that sorts first (by code unit) keeps it and the others get `_2`, `_3`, …
 * in that order (`blogPosts` → `BlogPosts_2`). A plain stem has no `_`, so a suffixed one can
 * never meet another collection's plain stem. Input order never matters.
 *
 * Per-collection components are `<Stem>` + one of {@link COLLECTION_COMPONENT_SUFFIXES}; no
 * suffix ends another and no fixed component (`Problem`, `Collection`, …) ends with one, so
 * collection components cannot collide with each other or with the fixed ones.
 *
 * @example
 *   collectionStems([{ name: '_superusers' }, { name: 'posts' }] as CollectionDef[])
 *   // Map { '_superusers' => 'Superusers', 'posts' => 'Posts' }
 */
export function collectionStems(
  collections: readonly Pick<CollectionDef, 'name'>[],
): Map<string, string> {
  const names = [...new Set(collections.map((c) => c.name))].sort(compareCodeUnits)
  const used = new Map<string, number>()
  const stems = new Map<string, string>()
  for (const name of names) {
    const base = pascalCase(name)
    const seen = used.get(base) ?? 0
    used.set(base, seen + 1)
    stems.set(name, seen === 0 ? base : `${base}_${seen + 1}`)
  }
  return stems
}

/** What each per-collection component name ends with; see {@link collectionStems}. */
export const COLLECTION_COMPONENT_SUFFIXES = {
  record: 'Record',
  create: 'Create',
  update: 'Update',
  list: 'RecordList',
  passwordLogin: 'PasswordLogin',
  authResponse: 'AuthResponse',
} as const

function pascalCase(name: string): string {
  const parts = name.split(/[^A-Za-z0-9]+/).filter((part) => part !== '')
  if (parts.length === 0) return 'Collection'
  return parts.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')
}

// localeCompare would make the output depend on the host's locale; the document must not.
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
