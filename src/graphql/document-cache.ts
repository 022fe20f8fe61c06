import {
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql'

/** Tokens one document may have: stops a pathological document before it is fully parsed. */
export const MAX_DOCUMENT_TOKENS = 20_000

/**
 * Parsing and GraphQL's own validation of a document depend only on its text and the schema,
 * and clients send the same few documents over and over: both are cached (parse by text, in
 * a bounded LRU; validation per schema, dropped with it). The limit rules depend on the request's
 * variables, so they run every time, on the cached document.
 */
export function createDocumentCache(maxDocuments = 500) {
  const parsed = new Map<string, DocumentNode>()
  const validated = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>()

  function parseCached(source: string): DocumentNode {
    const hit = parsed.get(source)
    if (hit) {
      // Most recently used last: the first key is the one to evict.
      parsed.delete(source)
      parsed.set(source, hit)
      return hit
    }
    const document = parse(source, { maxTokens: MAX_DOCUMENT_TOKENS })
    parsed.set(source, document)
    if (parsed.size > maxDocuments) parsed.delete(parsed.keys().next().value as string)
    return document
  }

  /** GraphQL's specified rules (cached) plus `extra` rules (run every time). */
  function validateCached(
    schema: GraphQLSchema,
    document: DocumentNode,
    extra: readonly ValidationRule[],
  ): readonly GraphQLError[] {
    let bySchema = validated.get(schema)
    if (!bySchema) validated.set(schema, (bySchema = new WeakMap()))
    let errors = bySchema.get(document)
    if (!errors) {
      errors = validate(schema, document, specifiedRules)
      bySchema.set(document, errors)
    }
    return extra.length === 0 ? errors : [...errors, ...validate(schema, document, extra)]
  }

  return { parse: parseCached, validate: validateCached }
}

export type DocumentCache = ReturnType<typeof createDocumentCache>
