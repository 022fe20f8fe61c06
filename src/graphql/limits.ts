import { MAX_JSON_DEPTH, nestsDeeperThan } from '../core/json-depth.js'
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
  /**
   * Estimated cost: each field costs the number of records it is asked of: the page size under
   * a list, times a to-many relation's real bound (its records per parent, at most the records
   * `expand` may add to one response). See `CostMultiplier`.
   */
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
  maxCost: 50_000,
  maxAliases: 30,
  maxBatch: 10,
  introspection: true,
}

/**
 * How a field multiplies the records its sub-selection is asked of, set in the field's
 * `extensions.cost`: `'perPage'` for a list query (its page size); for a to-many relation the
 * bounds the records service enforces: at most `perParent` records per parent record (a
 * back-relation's limit, or a multi relation's maxSelect when smaller) and at most `atMost`
 * expanded records under one list or record field. These are real bounds, not guesses: a
 * request that would go past them at run time is refused (ER_EXPAND_TOO_LARGE).
 */
export type CostMultiplier = 'perPage' | { perParent: number; atMost: number }

/**
 * The validation rules that enforce `limits`, to run beside GraphQL's specified rules.
 * `variables` are the request's, so a page size passed as a variable is costed at its value.
 */
export function limitRules(
  limits: GraphqlLimits,
  variables: Readonly<Record<string, unknown>> | null | undefined = undefined,
): ValidationRule[] {
  // Variables arrive parsed (a GET's query string, a WebSocket message): anything that walks
  // them recursively (coercion, the cost rule, the cache key) must not meet 5,000 levels.
  if (nestsDeeperThan(variables ?? {}, MAX_JSON_DEPTH)) return [tooDeepVariablesRule]
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
  if (nestsDeeperThan(variables ?? {}, MAX_JSON_DEPTH)) return undefined
  const key = JSON.stringify(variables ?? {})
  return key.length <= MAX_VARIABLES_KEY ? key : undefined
}

const tooDeepVariablesRule: ValidationRule = (context) => {
  context.reportError(
    graphqlError(
      'ER_REQUEST_MALFORMED',
      `The variables nest deeper than ${MAX_JSON_DEPTH} levels.`,
      { extensions: { limit: MAX_JSON_DEPTH } },
    ),
  )
  return {}
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
      const { depth, cost } = measure(
        operation.selectionSet.selections,
        root,
        { fragments, variables: variableValues(operation, values), open: new Set() },
        1,
      )
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

/**
 * Depth and cost of `selections` asked of `count` records: each field costs `count`, and its
 * sub-selection is asked of as many records as the field can yield (see `CostMultiplier`).
 */
function measure(
  selections: readonly SelectionNode[],
  parent: GraphQLNamedType,
  walk: Walk,
  count: number,
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
        ? measure(
            selection.selectionSet.selections,
            getNamedType(field.type),
            walk,
            recordsUnder(field, selection.arguments ?? [], walk, count),
          )
        : { depth: 0, cost: 0 }
      depth = Math.max(depth, 1 + inner.depth)
      cost += count + inner.cost
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
    const inner = measure(fragment.selectionSet.selections, parent, walk, count)
    if (name) walk.open.delete(name)
    depth = Math.max(depth, inner.depth)
    cost += inner.cost
  }
  return { depth, cost }
}

/**
 * How many records a field's sub-selection is asked of when the field is asked of `count`:
 * the page size for lists, the relation's bounds for to-many relations, `count` otherwise.
 */
function recordsUnder(
  field: GraphQLField<unknown, unknown>,
  args: readonly { name: { value: string }; value: ValueNode }[],
  walk: Walk,
  count: number,
): number {
  const cost = field.extensions.cost as CostMultiplier | undefined
  if (cost === undefined) return count
  if (cost !== 'perPage') return Math.min(count * cost.perParent, cost.atMost)
  return count * pageSize(args, walk)
}

/** The page size a list field asks for: `perPage` as sent (literal or variable), else the default. */
function pageSize(
  args: readonly { name: { value: string }; value: ValueNode }[],
  walk: Walk,
): number {
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
