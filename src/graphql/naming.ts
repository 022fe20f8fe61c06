import type { CollectionDef } from '../core/schema/types.js'
import { singularize } from './singular.js'

/** Every GraphQL name one collection contributes to the schema. */
export interface CollectionNames {
  /** The record type: `posts` → `Post`, `blog_posts` → `BlogPost`, `news` → `News`. */
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
  /** The enum type of each select field, by field name: `status` of `posts` → `PostStatus`. */
  enums: Record<string, string>
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
 * How a collection's names are made, tried in order: a collection moves to the next way only
 * while one of its names clashes (see {@link collectionNames}).
 */
const WAYS = [
  (name: string) => derive(singularize(pascalCase(name)), pascalCase(name)),
  (name: string) => derive(pascalCase(name), pascalCase(name)),
  (name: string) => derive(`C_${name}`, `C_${name}`),
] as const

/**
 * Maps collections to GraphQL names, predictably:
 * - types are singular (singular.ts): `blog_posts` → `BlogPost`, `BlogPostPage`,
 *   `BlogPostCreateInput`, `BlogPostChange`; a select field's enum is the type plus the field name
 *   with its first letter upper-cased (`BlogPostStatus`; `BlogPost_<field>` for two fields that
 *   differ only in that letter's case);
 * - query, mutation and subscription fields keep the collection's name as written, in camelCase
 *   (`blogPosts`, `blogPostsById`, `createBlogPosts`, `blogPostsChanges`), so that a field names
 *   the collection REST calls by the same name;
 * - when any of a collection's names clashes with another collection's or with a name the schema
 *   defines itself, that collection's types keep its name unsingularised (`post` and `posts` give
 *   `Post` and `Posts`); if that still clashes it uses its raw name, `C_<name>` for types
 *   (`C_blog_posts`, `C_blog_postsPage`, `c_blog_posts`…), which PascalCase never produces;
 * - a collection whose names clash even then is left out of the GraphQL schema (REST still has
 *   it); `omitted` says which, so the schema can describe why.
 * Every collection in a clash moves on together, so the result never depends on input order.
 * Field names are kept as written: the schema's own pattern is a subset of GraphQL's names, so
 * the filter language, REST and GraphQL share one vocabulary. Names starting with `__` are
 * reserved by GraphQL and are left out.
 */
export function collectionNames(collections: readonly CollectionDef[]): {
  names: Map<string, CollectionNames>
  omitted: string[]
} {
  const sorted = [...collections].sort((a, b) => (a.name < b.name ? -1 : 1))
  const way = new Map(sorted.map((c) => [c.name, 0]))
  const namesOf = (c: CollectionDef, index: number) => {
    const make = WAYS[index as 0 | 1 | 2](c.name)
    return { ...make.names, enums: enumNames(c, make.type, Object.values(make.names)) }
  }
  let chosen = new Map(sorted.map((c) => [c.name, namesOf(c, 0)]))
  for (;;) {
    const clashing = clashes(chosen)
    const movable = [...clashing].filter((name) => (way.get(name) as number) < WAYS.length - 1)
    if (movable.length === 0) {
      for (const name of clashing) chosen.delete(name)
      return { names: chosen, omitted: [...clashing].sort() }
    }
    for (const name of movable) way.set(name, (way.get(name) as number) + 1)
    chosen = new Map(sorted.map((c) => [c.name, namesOf(c, way.get(c.name) as number)]))
  }
}

/** Whether a schema field name can appear in GraphQL (`__` is reserved for introspection). */
export function isGraphqlFieldName(name: string): boolean {
  return !name.startsWith('__')
}

function derive(type: string, operation: string) {
  const lower = operation.charAt(0).toLowerCase() + operation.slice(1)
  const names: Omit<CollectionNames, 'enums'> = {
    type,
    page: `${type}Page`,
    createInput: `${type}CreateInput`,
    updateInput: `${type}UpdateInput`,
    change: `${type}Change`,
    authResult: `${type}AuthResult`,
    list: lower,
    byId: `${lower}ById`,
    create: `create${operation}`,
    update: `update${operation}`,
    remove: `delete${operation}`,
    authWithPassword: `authWithPassword${operation}`,
    authRefresh: `authRefresh${operation}`,
    authMfaVerify: `authMfaVerify${operation}`,
    changes: `${lower}Changes`,
  }
  return { type, names }
}

/**
 * The enum type name of each select field (every field, shown or not, so names never move):
 * `${type}${Field}`, or `${type}_${field}` when that would be one of the collection's own names
 * (a field `page` and the type `PostPage`) or two fields' (`status` and `Status`).
 */
function enumNames(
  collection: CollectionDef,
  type: string,
  own: readonly string[],
): Record<string, string> {
  const fields = collection.fields.filter((f) => f.type === 'select' && isGraphqlFieldName(f.name))
  const plain = (name: string) => type + name.charAt(0).toUpperCase() + name.slice(1)
  const counts = new Map<string, number>()
  for (const f of fields) counts.set(plain(f.name), (counts.get(plain(f.name)) ?? 0) + 1)
  const taken = (name: string) => own.includes(name) || (counts.get(name) as number) > 1
  return Object.fromEntries(
    fields.map((f) => [f.name, taken(plain(f.name)) ? `${type}_${f.name}` : plain(f.name)]),
  )
}

/** Every name a collection takes. */
function allNames(names: CollectionNames): string[] {
  const { enums, ...rest } = names
  return [...Object.values(rest), ...Object.values(enums)]
}

/** Collections with at least one name also used by another collection or by the schema. */
function clashes(byCollection: Map<string, CollectionNames>): Set<string> {
  const owners = new Map<string, Set<string>>()
  const out = new Set<string>()
  for (const [collection, names] of byCollection) {
    const own = allNames(names)
    // A select field named `page` would make an enum `PostPage`, the collection's own page type.
    if (new Set(own).size !== own.length) out.add(collection)
    for (const name of own) {
      let set = owners.get(name)
      if (!set) owners.set(name, (set = new Set()))
      set.add(collection)
    }
  }
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
