import {
  assertValidSchema,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
} from 'graphql'
import type { CollectionDef } from '../core/schema/types.js'
import {
  callerVisibility,
  UNFILTERED_VISIBILITY,
  visibilityKey,
  type CallerVisibility,
} from '../services/caller-visibility.js'
import type { RequestContext } from '../services/context.js'
import type { SchemaRegistry } from '../services/schema/schema-registry.js'
import { collectionNames } from './naming.js'
import {
  mutationFields,
  queryFields,
  type GraphqlContext,
  type OperationDeps,
} from './operations.js'
import { buildCollectionTypes, type CollectionTypes } from './record-types.js'

export interface GraphqlSchemaDeps extends OperationDeps {
  registry: SchemaRegistry
  /** Subscription fields (realtime); none when absent. */
  subscriptionFields?: (
    types: Map<string, CollectionTypes>,
  ) => GraphQLFieldConfigMap<unknown, GraphqlContext>
}

/** Schemas kept per schema version: one per visibility class seen (API keys add classes). */
const MAX_SCHEMAS = 32

/**
 * The GraphQL schema of the collections as they are now, as the caller's visibility class may
 * see them (caller-visibility.ts): introspection and validation know only the collections,
 * operations and fields some rule could grant that class. Built on first use per class after
 * each schema change and then shared by the class: a request takes the schema current when it
 * starts and runs to its end on it, so a change never disturbs requests in flight and needs no
 * restart.
 */
export function createGraphqlSchemaSource(deps: GraphqlSchemaDeps) {
  let catalogue: unknown
  const byClass = new Map<string, GraphQLSchema>()
  return async function schemaFor(ctx: RequestContext): Promise<GraphQLSchema> {
    if (deps.registry.stale) await deps.registry.refreshIfStale()
    const current = deps.registry.catalogue
    if (catalogue !== current) {
      byClass.clear()
      catalogue = current
    }
    const key = visibilityKey(ctx)
    let schema = byClass.get(key)
    if (!schema) {
      const view = callerVisibility(ctx, deps.registry)
      schema = buildGraphqlSchema([...current.values()], deps, view)
      if (byClass.size >= MAX_SCHEMAS) byClass.delete(byClass.keys().next().value as string)
      byClass.set(key, schema)
    }
    return schema
  }
}

export type GraphqlSchemaSource = ReturnType<typeof createGraphqlSchemaSource>

/**
 * The schema `view` shows. Names come from every collection, so a type or field is called the
 * same in every class's schema.
 */
export function buildGraphqlSchema(
  collections: readonly CollectionDef[],
  deps: Omit<GraphqlSchemaDeps, 'registry'>,
  view: CallerVisibility = UNFILTERED_VISIBILITY,
): GraphQLSchema {
  const { names, omitted: clashing } = collectionNames(collections)
  const omitted = clashing.filter((name) => {
    const collection = collections.find((c) => c.name === name)
    return collection !== undefined && view.reach(collection) !== 'none'
  })
  const types = buildCollectionTypes(collections, names, deps.records.expandLimits, view)
  const queries: GraphQLFieldConfigMap<unknown, GraphqlContext> = {}
  const mutations: GraphQLFieldConfigMap<unknown, GraphqlContext> = {}
  const watchable = new Map<string, CollectionTypes>()
  for (const own of types.values()) {
    const { collection, names: named } = own
    const allowed = new Set<string>()
    if (view.may(collection, 'list')) allowed.add(named.list)
    if (view.may(collection, 'view')) allowed.add(named.byId)
    if (view.may(collection, 'create')) allowed.add(named.create)
    if (view.may(collection, 'update')) allowed.add(named.update)
    if (view.may(collection, 'delete')) allowed.add(named.remove)
    Object.assign(queries, pick(queryFields(types, own, deps), allowed))
    // Sign-in (and the other auth mutations) are open to every caller, rules or not.
    const auth = new Set([named.authWithPassword, named.authMfaVerify, named.authRefresh])
    Object.assign(mutations, pick(mutationFields(types, own, deps), new Set([...allowed, ...auth])))
    if (view.may(collection, 'view')) watchable.set(collection.name, own)
  }
  const subscriptions = deps.subscriptionFields?.(watchable) ?? {}
  // GraphQL wants at least one query field; a caller no rule lets read anything gets this one.
  if (Object.keys(queries).length === 0) queries.noQueriesAvailable = NO_QUERIES
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      description:
        omitted.length > 0
          ? `Not in this schema (their GraphQL names clash; rename them): ${omitted.join(', ')}.`
          : undefined,
      fields: sorted(queries),
    }),
    ...(Object.keys(mutations).length > 0
      ? { mutation: new GraphQLObjectType({ name: 'Mutation', fields: sorted(mutations) }) }
      : {}),
    ...(Object.keys(subscriptions).length > 0
      ? {
          subscription: new GraphQLObjectType({
            name: 'Subscription',
            fields: sorted(subscriptions),
          }),
        }
      : {}),
  })
  assertValidSchema(schema)
  return schema
}

const NO_QUERIES: GraphQLFieldConfig<unknown, GraphqlContext> = {
  type: new GraphQLNonNull(GraphQLString),
  description: 'Present only when no access rule lets this caller read any collection.',
  resolve: () => 'No collection is readable by this caller; send a token to see more.',
}

/** The fields named in `allowed`. */
function pick<T>(fields: Record<string, T>, allowed: ReadonlySet<string>): Record<string, T> {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => allowed.has(name)))
}

/** Fields in name order, so the printed schema is stable whatever order collections load in. */
function sorted<T>(fields: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)))
}
