import { buildSchema, GraphQLError, type ValidationRule } from 'graphql'
import { describe, expect, it } from 'vitest'
import { createDocumentCache } from './document-cache.js'

const schema = buildSchema('type Query { hello: String }')

describe('the GraphQL document cache', () => {
  it('parses a text once and evicts the least recently used beyond its size', () => {
    const cache = createDocumentCache(2)
    const a = cache.parse('{ hello }')
    expect(cache.parse('{ hello }')).toBe(a)
    cache.parse('{ a: hello }')
    cache.parse('{ hello }') // used again: now the newest
    cache.parse('{ b: hello }') // evicts `{ a: hello }`
    expect(cache.parse('{ hello }')).toBe(a)
    const b = cache.parse('{ a: hello }')
    expect(cache.parse('{ a: hello }')).toBe(b)
  })

  it('refuses documents with too many tokens', () => {
    const cache = createDocumentCache()
    expect(() => cache.parse(`{ ${'hello '.repeat(25_000)}}`)).toThrow(/tokens/)
  })

  it('keeps the schema errors of a document and runs keyless extra rules every time', () => {
    const cache = createDocumentCache()
    const document = cache.parse('{ nope }')
    let runs = 0
    const counting: ValidationRule = (context) => ({
      Document() {
        runs++
        context.reportError(new GraphQLError(`extra ${runs}`))
      },
    })
    const first = cache.validate(schema, document, [counting])
    const second = cache.validate(schema, document, [counting])
    expect(first.map((e) => e.message)).toEqual([
      'Cannot query field "nope" on type "Query".',
      'extra 1',
    ])
    expect(second.map((e) => e.message)).toEqual([
      'Cannot query field "nope" on type "Query".',
      'extra 2',
    ])
    // Another schema is validated on its own.
    const other = buildSchema('type Query { nope: String }')
    expect(cache.validate(other, document, [])).toEqual([])
  })

  it("keeps the extra rules' result by the key they depend on", () => {
    const cache = createDocumentCache()
    const document = cache.parse('{ hello }')
    let runs = 0
    const counting: ValidationRule = (context) => ({
      Document() {
        runs++
        context.reportError(new GraphQLError(`extra ${runs}`))
      },
    })
    const messages = (key: string) =>
      cache.validate(schema, document, [counting], key).map((e) => e.message)
    expect(messages('{"perPage":10}')).toEqual(['extra 1'])
    expect(messages('{"perPage":10}')).toEqual(['extra 1'])
    expect(messages('{"perPage":500}')).toEqual(['extra 2'])
    expect(messages('{"perPage":10}')).toEqual(['extra 1'])
    expect(runs).toBe(2)
  })
})
