import type { CollectionDef } from '../core/schema/types.js'

/** Every GraphQL name one collection contributes to the schema. */
export interface CollectionNames {
  /** The record type: `posts` → `Posts`, `blog_posts` → `BlogPosts`. */
  type: string
  page: string
  createInput: string
  updateInput: string
  change: string
  /** Query fields. */
  list: string
  byId: string
  /** Mutation fields. */
  create: string
  update: string
  remove: string
  /** Auth collections only (present for every collection, used only for auth ones). */
  authWithPassword: string
  authRefresh: string
  authMfaVerify: string
  authResult: string
  /** Subscription field. */
  changes: string
}

/** Names the schema defines itself; a collection may not take them. */
const FIXED_NAMES = new Set([
  'Query',
  'Mutation',
  'Subscription',
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  'JSON',
  'ChangeAction',
  'MfaChallenge',
])

/**
 * Maps collections to GraphQL names, predictably:
 * - the type is the collection name in PascalCase (`blog_posts` → `BlogPosts`), and every other
 *   name is derived from it (`BlogPostsPage`, `blogPosts`, `blogPostsById`, `createBlogPosts`…);
 * - when any of those names would clash with another collection's or with a name the schema
 *   defines itself, each clashing collection uses its raw name instead: `C_<name>` for the type
 *   (`C_blog_posts`, `C_blog_postsPage`, `c_blog_posts`…), which PascalCase never produces;
 * - a collection whose names clash even then is left out of the GraphQL schema (REST still has
 *   it); `omitted` says which, so the schema can describe why.
 * Field names are kept as written: the schema's own pattern is a subset of GraphQL's names, so
 * the filter language, REST and GraphQL share one vocabulary. Names starting with `__` are
 * reserved by GraphQL and are left out.
 */
export function collectionNames(collections: readonly CollectionDef[]): {
  names: Map<string, CollectionNames>
  omitted: string[]
} {
  const sorted = [...collections].sort((a, b) => (a.name < b.name ? -1 : 1))
  const pascal = new Map(sorted.map((c) => [c.name, derive(pascalCase(c.name))]))
  const clashing = clashes(pascal)
  const chosen = new Map(
    sorted.map((c) => [
      c.name,
      clashing.has(c.name) ? derive(`C_${c.name}`) : (pascal.get(c.name) as CollectionNames),
    ]),
  )
  const omitted = clashes(chosen)
  for (const name of omitted) chosen.delete(name)
  return { names: chosen, omitted: [...omitted].sort() }
}

/** Whether a schema field name can appear in GraphQL (`__` is reserved for introspection). */
export function isGraphqlFieldName(name: string): boolean {
  return !name.startsWith('__')
}

function derive(type: string): CollectionNames {
  const lower = type.charAt(0).toLowerCase() + type.slice(1)
  return {
    type,
    page: `${type}Page`,
    createInput: `${type}CreateInput`,
    updateInput: `${type}UpdateInput`,
    change: `${type}Change`,
    authResult: `${type}AuthResult`,
    list: lower,
    byId: `${lower}ById`,
    create: `create${type}`,
    update: `update${type}`,
    remove: `delete${type}`,
    authWithPassword: `authWithPassword${type}`,
    authRefresh: `authRefresh${type}`,
    authMfaVerify: `authMfaVerify${type}`,
    changes: `${lower}Changes`,
  }
}

/** Collections with at least one name also used by another collection or by the schema. */
function clashes(byCollection: Map<string, CollectionNames>): Set<string> {
  const owners = new Map<string, Set<string>>()
  for (const [collection, names] of byCollection) {
    for (const name of Object.values(names)) {
      let set = owners.get(name)
      if (!set) owners.set(name, (set = new Set()))
      set.add(collection)
    }
  }
  const out = new Set<string>()
  for (const [name, set] of owners) {
    if (set.size > 1 || FIXED_NAMES.has(name)) for (const collection of set) out.add(collection)
  }
  return out
}

/** `blog_posts` → `BlogPosts`, `_superusers` → `Superusers`, `post2` → `Post2`. */
export function pascalCase(name: string): string {
  const out = name
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')
  // A name of underscores only, or one starting with a digit after them, needs a letter first.
  return /^[A-Za-z]/.test(out) ? out : `C${out}`
}
