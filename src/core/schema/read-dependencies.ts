import type { CollectionDef } from './types.js'

/** What a cached read of one collection depends on, derived from the schema alone. */
export interface ReadDependencies {
  /**
   * Collections whose writes may change a read of this one, sorted: itself, every collection
   * joined to it by a relation in either direction (expand, back-relations, relation paths in
   * filters and rules), and every `@collection.<name>` its rules read, transitively.
   */
  collections: readonly string[]
  /** A list or view rule reads `@now`: the answer changes with time, so it is never cached. */
  timeDependent: boolean
}

const COLLECTION_MACRO = /@collection\.([A-Za-z_][A-Za-z0-9_]*)/g

/**
 * The read dependencies of every collection in a catalogue: connected components of the graph
 * whose edges are relation fields (both ways) and `@collection` references in list and view
 * rules. Coarse on purpose: a read is invalidated by any write it could possibly see, never
 * missed because a query's exact joins were not worked out.
 *
 * @example
 *   // posts.author → users; comments.post → posts; tags stands alone
 *   readDependencies(catalogue).get('posts')?.collections // ['comments', 'posts', 'users']
 */
export function readDependencies(
  catalogue: ReadonlyMap<string, CollectionDef>,
): Map<string, ReadDependencies> {
  const byId = new Map([...catalogue.values()].map((c) => [c.id, c.name]))
  const nameOf = (ref: string) => (catalogue.has(ref) ? ref : byId.get(ref))
  const edges = new Map<string, Set<string>>()
  const link = (a: string, b: string) => {
    if (!edges.has(a)) edges.set(a, new Set())
    if (!edges.has(b)) edges.set(b, new Set())
    edges.get(a)?.add(b)
    edges.get(b)?.add(a)
  }
  for (const collection of catalogue.values()) {
    link(collection.name, collection.name)
    for (const field of collection.fields) {
      const target = field.type === 'relation' ? nameOf(field.collection) : undefined
      if (target) link(collection.name, target)
    }
    for (const rule of [collection.rules.list, collection.rules.view]) {
      for (const match of (rule ?? '').matchAll(COLLECTION_MACRO)) {
        const target = nameOf(match[1] as string)
        if (target) link(collection.name, target)
      }
    }
  }
  const result = new Map<string, ReadDependencies>()
  for (const start of catalogue.keys()) {
    if (result.has(start)) continue
    const component = new Set<string>([start])
    const queue = [start]
    while (queue.length > 0) {
      for (const next of edges.get(queue.pop() as string) ?? []) {
        if (!component.has(next)) {
          component.add(next)
          queue.push(next)
        }
      }
    }
    const collections = [...component].sort()
    const timeDependent = collections.some((name) => {
      const rules = catalogue.get(name)?.rules
      return /@now\b/.test(`${rules?.list ?? ''}\n${rules?.view ?? ''}`)
    })
    for (const name of component) result.set(name, { collections, timeDependent })
  }
  return result
}
