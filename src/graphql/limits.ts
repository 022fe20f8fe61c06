import {
  getNamedType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql'
import { LIST_LIMITS } from '../services/records/records-deps.js'
import { graphqlError } from './graphql-errors.js'

/** What one GraphQL document may ask for; every limit is checked before anything executes. */
export interface GraphqlLimits {
  /** Deepest field nesting (`posts { items { author { name } } }` is 4). */
  maxDepth: number
  /** Estimated cost: each field is 1, times the page size under a list, times 10 under a to-many relation. */
  maxCost: number
  /** Aliased fields in one document (aliases multiply work without multiplying the query). */
  maxAliases: number
  /** Operations in one batched (array) request. */
  maxBatch: number
  /** Whether `__schema` / `__type` may be queried. */
  introspection: boolean
}

export const DEFAULT_GRAPHQL_LIMITS: GraphqlLimits = {
  maxDepth: 12,
  maxCost: 10_000,
  maxAliases: 30,
  maxBatch: 10,
  introspection: true,
}

/** The guess for how many records a to-many relation returns per parent, for the cost only. */
export const RELATION_FAN_OUT_ESTIMATE = 10

/**
 * How a field multiplies the cost of its sub-selection, set in the field's `extensions.cost`:
 * `'perPage'` for a list query (its page size), a number for a to-many relation.
 */
export type CostMultiplier = 'perPage' | number

/**
 * The validation rules that enforce `limits`, to run beside GraphQL's specified rules.
 * `variables` are the request's, so a page size passed as a variable is costed at its value.
 */
export function limitRules(
  limits: GraphqlLimits,
  variables: Readonly<Record<string, unknown>> | null | undefined = undefined,
): ValidationRule[] {
  const rules: ValidationRule[] = [
    aliasRule(limits.maxAliases),
    depthAndCostRule(limits, variables ?? {}),
  ]
  if (!limits.introspection) rules.push(noIntrospectionRule)
  return rules
}

/** Variables longer than this as JSON are checked against the limits every time. */
const MAX_VARIABLES_KEY = 2048

/**
 * What `limitRules`' result depends on besides the schema and the document (the variables, as
 * JSON), for `DocumentCache.validate` to keep it by; undefined for very long variables.
 */
export function limitRulesKey(
  variables: Readonly<Record<string, unknown>> | null | undefined,
): string | undefined {
  const key = JSON.stringify(variables ?? {})
  return key.length <= MAX_VARIABLES_KEY ? key : undefined
}

function aliasRule(maxAliases: number): ValidationRule {
  return (context) => {
    let count = 0
    return {
      Field(node) {
        if (node.alias && ++count === maxAliases + 1) {
          context.reportError(
            graphqlError(
              'ER_GRAPHQL_ALIAS_LIMIT',
              `The document uses more than ${maxAliases} aliases; split it into several requests.`,
              { nodes: [node], extensions: { limit: maxAliases } },
            ),
          )
        }
      },
    }
  }
}

function depthAndCostRule(
  limits: GraphqlLimits,
  values: Readonly<Record<string, unknown>>,
): ValidationRule {
  return (context): ASTVisitor => ({
    OperationDefinition(operation) {
      const root = rootType(context, operation)
      if (!root) return
      const fragments = new Map<string, FragmentDefinitionNode>()
      for (const definition of context.getDocument().definitions) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION)
          fragments.set(definition.name.value, definition)
      }
      const { depth, cost } = measure(operation.selectionSet.selections, root, {
        fragments,
        variables: variableValues(operation, values),
        open: new Set(),
      })
      if (depth > limits.maxDepth) {
        context.reportError(
          graphqlError(
            'ER_GRAPHQL_DEPTH_LIMIT',
            `The query nests ${depth} levels deep; at most ${limits.maxDepth} are allowed.`,
            { nodes: [operation], extensions: { limit: limits.maxDepth, depth } },
          ),
        )
      }
      if (cost > limits.maxCost) {
        context.reportError(
          graphqlError(
            'ER_GRAPHQL_COST_LIMIT',
            `The query's estimated cost is ${cost}; at most ${limits.maxCost} is allowed. ` +
              'Ask for smaller pages (perPage) or fewer nested relations.',
            { nodes: [operation], extensions: { limit: limits.maxCost, cost } },
          ),
        )
      }
    },
  })
}

interface Walk {
  fragments: Map<string, FragmentDefinitionNode>
  /** Each variable's value as sent, else its default; undefined when neither. */
  variables: Map<string, unknown>
  /** Fragments being expanded on this path: a cycle is reported by GraphQL's own rules. */
  open: Set<string>
}

function measure(
  selections: readonly SelectionNode[],
  parent: GraphQLNamedType,
  walk: Walk,
): { depth: number; cost: number } {
  let depth = 0
  let cost = 0
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) {
      const name = selection.name.value
      // Introspection has its own switch, and __typename costs nothing.
      if (name.startsWith('__')) continue
      const field = fieldOf(parent, name)
      if (!field) continue
      const inner = selection.selectionSet
        ? measure(selection.selectionSet.selections, getNamedType(field.type), walk)
        : { depth: 0, cost: 0 }
      depth = Math.max(depth, 1 + inner.depth)
      cost += 1 + multiplier(field, selection.arguments ?? [], walk) * inner.cost
      continue
    }
    const fragment =
      selection.kind === Kind.INLINE_FRAGMENT
        ? selection
        : walk.open.has(selection.name.value)
          ? undefined
          : walk.fragments.get(selection.name.value)
    if (!fragment) continue
    const name = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined
    if (name) walk.open.add(name)
    const inner = measure(fragment.selectionSet.selections, parent, walk)
    if (name) walk.open.delete(name)
    depth = Math.max(depth, inner.depth)
    cost += inner.cost
  }
  return { depth, cost }
}

/** How many times a field's sub-selection runs: the page size for lists, an estimate for relations. */
function multiplier(
  field: GraphQLField<unknown, unknown>,
  args: readonly { name: { value: string }; value: ValueNode }[],
  walk: Walk,
): number {
  const cost = field.extensions.cost as CostMultiplier | undefined
  if (typeof cost === 'number') return cost
  if (cost !== 'perPage') return 1
  const given = args.find((arg) => arg.name.value === 'perPage')?.value
  const value =
    given?.kind === Kind.VARIABLE
      ? walk.variables.get(given.name.value)
      : given?.kind === Kind.INT
        ? Number(given.value)
        : undefined
  // The service caps the page size; anything else (absent, null) means the default page.
  if (typeof value === 'number' && Number.isInteger(value) && value > 0)
    return Math.min(value, LIST_LIMITS.maxPerPage)
  return LIST_LIMITS.defaultPerPage
}

function fieldOf(parent: GraphQLNamedType, name: string) {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined
}

function rootType(context: ValidationContext, operation: OperationDefinitionNode) {
  const schema = context.getSchema()
  if (operation.operation === 'query') return schema.getQueryType()
  if (operation.operation === 'mutation') return schema.getMutationType()
  return schema.getSubscriptionType()
}

function variableValues(
  operation: OperationDefinitionNode,
  values: Readonly<Record<string, unknown>>,
): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value
    const fallback = definition.defaultValue
    const value =
      name in values
        ? values[name]
        : fallback?.kind === Kind.INT
          ? Number(fallback.value)
          : undefined
    out.set(name, value)
  }
  return out
}

const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        graphqlError(
          'ER_GRAPHQL_INTROSPECTION_DISABLED',
          'Introspection is turned off on this server (ER_GRAPHQL_INTROSPECTION).',
          { nodes: [node] },
        ),
      )
    }
  },
})
