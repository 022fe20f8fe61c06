import {
  parse,
  Source,
  specifiedRules,
  syntaxError,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql'

import { documentNestingOffset, MAX_DOCUMENT_NESTING } from './document-nesting.js'

/** Tokens one document may have: stops a pathological document before it is fully parsed. */
export const MAX_DOCUMENT_TOKENS = 20_000

/** Sets of variables whose limit-rule result is kept per document. */
const MAX_EXTRA_KEYS = 16

/**
 * Parsing and GraphQL's own validation of a document depend only on its text and the schema,
 * and clients send the same few documents over and over: both are cached (parse by text, in
 * a bounded LRU; validation per schema, dropped with it). The limit rules depend on the request's
 * variables too: their result is kept by the variables' JSON (`extraKey`), a few per document,
 * and run again for any other variables.
 */
export function createDocumentCache(maxDocuments = 500) {
  const parsed = new Map<string, DocumentNode>()
  const validated = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>()
  const extraValidated = new WeakMap<
    GraphQLSchema,
    WeakMap<DocumentNode, Map<string, readonly GraphQLError[]>>
  >()

  function parseCached(source: string): DocumentNode {
    const hit = parsed.get(source)
    if (hit) {
      // Most recently used last: the first key is the one to evict.
      parsed.delete(source)
      parsed.set(source, hit)
      return hit
    }
    const tooDeep = documentNestingOffset(source)
    if (tooDeep >= 0) {
      throw syntaxError(
        new Source(source),
        tooDeep,
        `Document nests deeper than ${MAX_DOCUMENT_NESTING} levels.`,
      )
    }
    const document = parse(source, { maxTokens: MAX_DOCUMENT_TOKENS })
    parsed.set(source, document)
    if (parsed.size > maxDocuments) parsed.delete(parsed.keys().next().value as string)
    return document
  }

  /**
   * GraphQL's specified rules (cached) plus `extra` rules: cached by `extraKey` when given (it
   * must name everything the extra rules depend on besides schema and document), else run.
   */
  function validateCached(
    schema: GraphQLSchema,
    document: DocumentNode,
    extra: readonly ValidationRule[],
    extraKey?: string,
  ): readonly GraphQLError[] {
    let bySchema = validated.get(schema)
    if (!bySchema) validated.set(schema, (bySchema = new WeakMap()))
    let errors = bySchema.get(document)
    if (!errors) {
      errors = validate(schema, document, specifiedRules)
      bySchema.set(document, errors)
    }
    if (extra.length === 0) return errors
    return [...errors, ...validateExtra(schema, document, extra, extraKey)]
  }

  function validateExtra(
    schema: GraphQLSchema,
    document: DocumentNode,
    extra: readonly ValidationRule[],
    extraKey: string | undefined,
  ): readonly GraphQLError[] {
    if (extraKey === undefined) return validate(schema, document, extra)
    let bySchema = extraValidated.get(schema)
    if (!bySchema) extraValidated.set(schema, (bySchema = new WeakMap()))
    let byKey = bySchema.get(document)
    if (!byKey) bySchema.set(document, (byKey = new Map()))
    let errors = byKey.get(extraKey)
    if (!errors) {
      errors = validate(schema, document, extra)
      if (byKey.size >= MAX_EXTRA_KEYS) byKey.delete(byKey.keys().next().value as string)
      byKey.set(extraKey, errors)
    }
    return errors
  }

  return { parse: parseCached, validate: validateCached }
}

export type DocumentCache = ReturnType<typeof createDocumentCache>
