import { GraphQLError } from 'graphql'
import { EngineError } from '../core/errors/index.js'
import { errorCatalogue, type ErrorCode } from '../core/errors/codes.js'

/** A GraphQL error with the engine's stable code (and HTTP-equivalent status) in `extensions`. */
export function graphqlError(
  code: ErrorCode,
  message: string,
  options: { nodes?: GraphQLError['nodes']; extensions?: Record<string, unknown> } = {},
): GraphQLError {
  const { status } = errorCatalogue[code]
  return new GraphQLError(message, {
    ...(options.nodes ? { nodes: options.nodes } : {}),
    extensions: { code, status, ...options.extensions },
  })
}

/**
 * The shape every GraphQL error leaves the server in: `extensions.code` is always one of the
 * catalogue's codes (docs/reference/errors.md), as in REST's problem details.
 * - an EngineError from a service keeps its code, status and field `errors`;
 * - a syntax error is ER_GRAPHQL_SYNTAX, any other error without a code (validation, variable
 *   coercion) is ER_GRAPHQL_INVALID;
 * - anything else is an internal error whose message is not shown (it is logged instead).
 */
export function formatGraphqlError(error: Readonly<GraphQLError | Error>): GraphQLError {
  if (!(error instanceof GraphQLError)) return internal(undefined)
  const original = error.originalError
  if (original instanceof EngineError) {
    return new GraphQLError(original.message, {
      ...where(error),
      extensions: {
        code: original.code,
        status: original.status,
        ...(original.errors ? { errors: original.errors } : {}),
        ...original.extra,
      },
    })
  }
  if (original && !(original instanceof GraphQLError)) return internal(error)
  // graphql-jit's variable errors come without `extensions`.
  if (typeof error.extensions?.code === 'string') return error as GraphQLError
  const code: ErrorCode = error.message.startsWith('Syntax Error')
    ? 'ER_GRAPHQL_SYNTAX'
    : 'ER_GRAPHQL_INVALID'
  return new GraphQLError(error.message, {
    ...where(error),
    extensions: { ...error.extensions, code, status: 400 },
  })
}

/** True when the error is the server's fault (to be logged with its cause). */
export function isInternalError(error: GraphQLError): boolean {
  const original = error.originalError
  return (
    original !== undefined &&
    !(original instanceof EngineError) &&
    !(original instanceof GraphQLError)
  )
}

function internal(error: Readonly<GraphQLError> | undefined): GraphQLError {
  return new GraphQLError('Internal server error; the server log has the details.', {
    ...(error ? where(error) : {}),
    extensions: { code: 'ER_INTERNAL', status: 500 },
  })
}

/** Where an error points: its nodes, or the source positions a syntax error has instead. */
function where(error: Readonly<GraphQLError>) {
  return {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(!error.nodes && error.source && error.positions
      ? { source: error.source, positions: error.positions }
      : {}),
    ...(error.path ? { path: error.path } : {}),
  }
}

/**
 * The same errors without graphql-js's "Did you mean …?" hints. With introspection off, those
 * hints would let a client discover field and type names one guess at a time.
 */
export function withoutSuggestions(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) => {
    const message = error.message.replace(/ Did you mean .*\?$/s, '')
    if (message === error.message) return error
    return new GraphQLError(message, {
      ...where(error),
      ...(error.originalError ? { originalError: error.originalError } : {}),
      extensions: error.extensions,
    })
  })
}
