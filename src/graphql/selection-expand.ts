import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionNode } from 'graphql'
import type { CollectionTypes } from './record-types.js'

/**
 * Reads the relations a query selects and writes them as a REST `expand` (`author,
 * comments_via_post.author`): the records service then loads each relation with one batched
 * query per level, under the target's view rule, exactly as `GET …?expand=` does. This is what
 * keeps a query for 50 posts with authors and comments at a constant number of statements.
 * Fragments (named and inline) are followed; `@skip`/`@include` are not evaluated, so a skipped
 * relation is loaded and then not returned, never the reverse.
 */
export function expandOf(
  types: Map<string, CollectionTypes>,
  collection: string,
  selections: readonly SelectionNode[],
  info: Pick<GraphQLResolveInfo, 'fragments'>,
): string | undefined {
  const paths = new Set<string>()
  collect(types, collection, selections, info, '', paths, new Set())
  return paths.size > 0 ? [...paths].join(',') : undefined
}

/** The selections under `field` of every node (one per alias-merged occurrence). */
export function subSelections(
  nodes: readonly FieldNode[],
  field: string,
  info: Pick<GraphQLResolveInfo, 'fragments'>,
): SelectionNode[] {
  const out: SelectionNode[] = []
  for (const node of nodes) {
    for (const child of fieldsOf(node.selectionSet?.selections ?? [], info, new Set())) {
      if (child.name.value === field) out.push(...(child.selectionSet?.selections ?? []))
    }
  }
  return out
}

/** Whether any of `nodes` selects `field` directly (through fragments too). */
export function selects(
  nodes: readonly FieldNode[],
  field: string,
  info: Pick<GraphQLResolveInfo, 'fragments'>,
): boolean {
  return nodes.some((node) =>
    fieldsOf(node.selectionSet?.selections ?? [], info, new Set()).some(
      (child) => child.name.value === field,
    ),
  )
}

/** The record selections of resolver nodes: their own selection sets, merged. */
export function ownSelections(nodes: readonly FieldNode[]): SelectionNode[] {
  return nodes.flatMap((node) => node.selectionSet?.selections ?? [])
}

function collect(
  types: Map<string, CollectionTypes>,
  collection: string,
  selections: readonly SelectionNode[],
  info: Pick<GraphQLResolveInfo, 'fragments'>,
  prefix: string,
  paths: Set<string>,
  visiting: Set<string>,
): void {
  const own = types.get(collection)
  if (!own) return
  for (const field of fieldsOf(selections, info, new Set())) {
    const link = own.relations.get(field.name.value)
    if (!link) continue
    const path = `${prefix}${link.expand}`
    paths.add(path)
    // A relation cycle in the query (post → author → posts_via_author → …) ends with the
    // depth limit; `visiting` only guards against a path being walked twice.
    if (visiting.has(path)) continue
    visiting.add(path)
    collect(
      types,
      link.target.name,
      field.selectionSet?.selections ?? [],
      info,
      `${path}.`,
      paths,
      visiting,
    )
  }
}

/** The field nodes of a selection set, with fragment spreads and inline fragments opened. */
function fieldsOf(
  selections: readonly SelectionNode[],
  info: Pick<GraphQLResolveInfo, 'fragments'>,
  seen: Set<string>,
): FieldNode[] {
  const out: FieldNode[] = []
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) out.push(selection)
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      out.push(...fieldsOf(selection.selectionSet.selections, info, seen))
    else {
      const name = selection.name.value
      const fragment = info.fragments[name]
      if (!fragment || seen.has(name)) continue
      seen.add(name)
      out.push(...fieldsOf(fragment.selectionSet.selections, info, seen))
    }
  }
  return out
}
