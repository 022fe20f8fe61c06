import {
  execute as interpret,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql'
import type * as GraphqlJitModule from 'graphql-jit'
import type { CompiledQuery } from 'graphql-jit'

type GraphqlJit = typeof GraphqlJitModule
let jit: GraphqlJit | undefined
let loadingJit: Promise<GraphqlJit> | undefined

/**
 * graphql-jit, loaded by the first query: with its own copies of fast-json-stringify and
 * fast-uri it adds a few MB to the RSS of a server that may never be asked a GraphQL query.
 */
function loadGraphqlJit(): Promise<GraphqlJit> {
  loadingJit ??= import('graphql-jit').then((module) => (jit = module))
  return loadingJit
}

/**
 * Executes queries and mutations through graphql-jit: each (schema, document, operation) is
 * compiled once into a JavaScript function, which then runs without graphql-js's per-field
 * interpretation (argument coercion, type checks and path bookkeeping for every field of every
 * record): about 17% less CPU per request for a 20-record page with a relation (bench/README.md).
 * Compiled queries live as long as their schema and document (weak maps), and the document
 * cache keeps a bounded set of documents alive. What the compiler refuses runs on graphql-js.
 */
export function createCompiledExecution() {
  const compiled = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, CompiledQuery>>>()

  function compiledFor(
    args: ExecutionArgs,
    { compileQuery, isCompiledQuery }: GraphqlJit,
  ): CompiledQuery | undefined {
    let bySchema = compiled.get(args.schema)
    if (!bySchema) compiled.set(args.schema, (bySchema = new WeakMap()))
    let byOperation = bySchema.get(args.document)
    if (!byOperation) bySchema.set(args.document, (byOperation = new Map()))
    const key = args.operationName ?? ''
    let query = byOperation.get(key)
    if (!query) {
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined)
      if (!isCompiledQuery(result)) return undefined
      query = result
      byOperation.set(key, query)
    }
    return query
  }

  return function execute(args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult {
    // Only the first query waits for the import; after it, this path stays synchronous.
    if (!jit) return loadGraphqlJit().then(() => execute(args))
    const query = compiledFor(args, jit)
    if (!query) return interpret(args)
    return query.query(args.rootValue, args.contextValue, args.variableValues ?? {})
  }
}
