import {
  assertValidSchema,
  GraphQLObjectType,
  GraphQLSchema,
  type GraphQLFieldConfigMap,
} from 'graphql'
import type { CollectionDef } from '../core/schema/types.js'
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

/**
 * The GraphQL schema of the collections as they are now. Built on first use after each schema
 * change and then shared: a request takes the schema current when it starts and runs to its
 * end on it, so a change never disturbs requests in flight and needs no restart.
 */
export function createGraphqlSchemaSource(deps: GraphqlSchemaDeps) {
  let cached: { catalogue: unknown; schema: GraphQLSchema } | undefined
  return async function currentSchema(): Promise<GraphQLSchema> {
    await deps.registry.refreshIfStale()
    const catalogue = deps.registry.catalogue
    if (cached?.catalogue !== catalogue) {
      cached = { catalogue, schema: buildGraphqlSchema([...catalogue.values()], deps) }
    }
    return cached.schema
  }
}

export type GraphqlSchemaSource = ReturnType<typeof createGraphqlSchemaSource>

export function buildGraphqlSchema(
  collections: readonly CollectionDef[],
  deps: Omit<GraphqlSchemaDeps, 'registry'>,
): GraphQLSchema {
  const { names, omitted } = collectionNames(collections)
  const types = buildCollectionTypes(collections, names, deps.records.expandLimits)
  const queries: GraphQLFieldConfigMap<unknown, GraphqlContext> = {}
  const mutations: GraphQLFieldConfigMap<unknown, GraphqlContext> = {}
  for (const own of types.values()) {
    Object.assign(queries, queryFields(types, own, deps))
    Object.assign(mutations, mutationFields(types, own, deps))
  }
  const subscriptions = deps.subscriptionFields?.(types) ?? {}
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      description:
        omitted.length > 0
          ? `Not in this schema (their GraphQL names clash; rename them): ${omitted.join(', ')}.`
          : undefined,
      fields: sorted(queries),
    }),
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: sorted(mutations) }),
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

/** Fields in name order, so the printed schema is stable whatever order collections load in. */
function sorted<T>(fields: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)))
}
