import type { FastifyReply, FastifyRequest } from 'fastify'
import { GraphQLError } from 'graphql'
import { createHandler, type Request as GraphqlHttpRequest } from 'graphql-http'
import { EngineError } from '../../core/errors/index.js'
import type { SchemaRegistry } from '../../services/schema/schema-registry.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import {
  formatGraphqlError,
  graphqlError,
  isInternalError,
  withoutSuggestions,
} from '../../graphql/graphql-errors.js'
import { createCompiledExecution } from '../../graphql/compiled-execution.js'
import type { DocumentCache } from '../../graphql/document-cache.js'
import type { GraphqlSchemaSource } from '../../graphql/graphql-schema.js'
import { limitRules, limitRulesKey, type GraphqlLimits } from '../../graphql/limits.js'
import type { GraphqlContext } from '../../graphql/operations.js'
import { contextOf } from '../plugins/request-context.js'

export interface GraphqlHttpOptions {
  schema: GraphqlSchemaSource
  /** To recheck the schema version when a document names what this node does not know yet. */
  registry: SchemaRegistry
  auth: AuthService
  limits: GraphqlLimits
  documents: DocumentCache
}

const JSON_TYPE = 'application/json; charset=utf-8'

type RawRequest = FastifyRequest
type HandlerContext = { reply: FastifyReply }

/**
 * GraphQL over HTTP (GET for queries, POST for everything), as graphql-http implements the spec,
 * plus batches (a JSON array of operations, at most `maxBatch`): answers one `/graphql` request
 * whose body graphql-routes.ts has read (text, or the object a JSON body parsed to).
 */
export function createGraphqlHttpHandler(options: GraphqlHttpOptions) {
  const { schema, auth, limits, documents } = options
  const limitKeys = new WeakMap<readonly unknown[], string>()

  const handle = createHandler<RawRequest, HandlerContext, GraphqlContext>({
    // Each caller's visibility class has its own schema; the context is resolved first.
    schema: (_req, args) => schema((args.contextValue as GraphqlContext).ctx),
    execute: createCompiledExecution(),
    parse: (source) => documents.parse(typeof source === 'string' ? source : source.body),
    // GraphQL's specified rules run (cached) inside `documents.validate`; these are the limits.
    validationRules: (_req, args) => {
      const rules = limitRules(limits, args.variableValues)
      // Their result depends only on the variables: kept by them (see DocumentCache).
      const key = limitRulesKey(args.variableValues)
      if (key !== undefined) limitKeys.set(rules, key)
      return rules
    },
    validate: (current, document, rules) => {
      const errors = documents.validate(
        current,
        document,
        rules ?? [],
        rules ? limitKeys.get(rules) : undefined,
      )
      return limits.introspection ? errors : withoutSuggestions(errors)
    },
    context: async (req) => {
      try {
        const ctx = await contextOf(req.raw, auth)
        return {
          ctx,
          client: { ip: req.raw.ip, userAgent: req.raw.headers['user-agent'] ?? '' },
        }
      } catch (error) {
        if (!(error instanceof EngineError)) throw error
        // An unusable token is refused before anything runs, as REST refuses it (401).
        const body = {
          errors: [formatGraphqlError(new GraphQLError(error.message, { originalError: error }))],
        }
        return [
          JSON.stringify(body),
          { status: error.status, statusText: error.title, headers: { 'content-type': JSON_TYPE } },
        ]
      }
    },
    onOperation: (req, _args, result) => {
      if (!result.errors) {
        // The common case, answered here: graphql-http serialises through a replacer function,
        // which costs a call per key of the whole result; this result has no errors to replace.
        const type = mediaTypeFor(req.raw.headers.accept)
        return [
          JSON.stringify(result),
          { status: 200, statusText: 'OK', headers: { 'content-type': type } },
        ]
      }
      for (const error of result.errors) {
        if (isInternalError(error))
          req.raw.log.error({ err: error.originalError }, 'GraphQL resolver failed')
      }
      return undefined
    },
    formatError: formatGraphqlError,
  })

  /**
   * One operation. A document refused (400) by a node whose schema may be stale (another node
   * created a collection or field a moment ago and its announcement has not arrived) is run once
   * more when the schema version in the store has moved: one primary-key read per refused
   * document, as REST's `retryOnFreshSchema` does for an unknown name.
   */
  async function run(request: FastifyRequest, reply: FastifyReply, body: unknown) {
    const req: GraphqlHttpRequest<RawRequest, HandlerContext> = {
      url: request.url,
      method: request.method,
      headers: request.headers,
      body: body as GraphqlHttpRequest<RawRequest, HandlerContext>['body'],
      raw: request,
      context: { reply },
    }
    const version = options.registry.version
    const answer = await handle(req)
    if (!refusedDocument(answer) || !(await options.registry.recheck(version))) return answer
    return handle(req)
  }

  return async function handle(request: FastifyRequest, reply: FastifyReply) {
    const batch = request.method === 'POST' ? batchOf(request) : undefined
    if (batch) {
      if (batch.length > limits.maxBatch || batch.length === 0) {
        const error = graphqlError(
          'ER_GRAPHQL_BATCH_LIMIT',
          `A batch holds 1-${limits.maxBatch} operations; this one holds ${batch.length}.`,
          { extensions: { limit: limits.maxBatch } },
        )
        return reply
          .status(400)
          .type(JSON_TYPE)
          .send(JSON.stringify({ errors: [error] }))
      }
      const results: unknown[] = []
      for (const operation of batch) {
        const [text] = await run(request, reply, operation)
        results.push(text ? JSON.parse(text) : null)
      }
      return reply.type(JSON_TYPE).send(JSON.stringify(results))
    }
    const [text, init] = await run(request, reply, request.body)
    return reply
      .status(init.status)
      .headers(init.headers ?? {})
      .send(text ?? undefined)
  }
}

/** The operations of a JSON-array body, or undefined when the body is not a batch. */
function batchOf(request: FastifyRequest): unknown[] | undefined {
  return Array.isArray(request.body) ? (request.body as unknown[]) : undefined
}

/**
 * The response type graphql-http chooses for an `Accept` header it accepted (the first of
 * `application/graphql-response+json` or a JSON-compatible type, in the header's order).
 */
function mediaTypeFor(accept: string | undefined): string {
  for (const part of (accept ?? '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const type = part.split(';')[0]
    if (type === 'application/graphql-response+json')
      return 'application/graphql-response+json; charset=utf-8'
    if (type === 'application/json' || type === 'application/*' || type === '*/*') break
  }
  return JSON_TYPE
}

/**
 * An answer with errors and no `data`: the document never ran (it did not parse or validate).
 * A 400, or a 200 when the client accepts only `application/json` (GraphQL over HTTP).
 */
function refusedDocument([text, init]: Awaited<ReturnType<ReturnType<typeof createHandler>>>) {
  if ((init.status !== 200 && init.status !== 400) || !text || !text.startsWith('{"errors"')) {
    return false
  }
  try {
    return !('data' in (JSON.parse(text) as object))
  } catch {
    return false
  }
}
