/**
 * Protection: depth, cost, aliases, batch size and introspection are refused with their own
 * codes before anything executes (no SQL beyond the caller's identity, no write), and each
 * limit is configurable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableDialects } from '../helpers/dialects.js'
import { createBlog, dataOf, errorCode, gql, type Blog } from './graphql-fixture.js'

describe.each(await availableDialects())('GraphQL limits on %s', (dialect) => {
  let blog: Blog
  let recordStatements = 0
  beforeAll(async () => {
    blog = await createBlog(dialect, {
      graphql: {
        limits: { maxDepth: 6, maxCost: 500, maxAliases: 3, maxBatch: 2, introspection: false },
      },
      engine: { expandLimits: { maxPerRelation: 10, maxRecords: 150 } },
      // Statements that read or write records (the identity lookups are not counted).
      onQuery: (event) => {
        if (/"(posts|comments)"/.test(event.sql)) recordStatements++
      },
    })
  })
  afterAll(() => blog.t.close())

  const refusedBeforeExecution = async (query: string, code: string) => {
    const before = recordStatements
    const result = await gql(blog.t, query)
    expect(errorCode(result)).toBe(code)
    expect(result.data).toBeUndefined()
    expect(recordStatements).toBe(before)
    return result
  }

  it('refuses a query nested deeper than maxDepth', async () => {
    const deep = `{ comments(perPage: 1) { items { post { author { posts_via_author { author { id } } } } } } }`
    const result = await refusedBeforeExecution(deep, 'ER_GRAPHQL_DEPTH_LIMIT')
    expect(result.errors?.[0]?.extensions).toMatchObject({ limit: 6, depth: 7 })
    expect(
      dataOf(await gql(blog.t, `{ comments { items { post { author { id } } } } }`)),
    ).toBeTruthy()
  })

  it('refuses a query whose estimated cost is above maxCost, counting variables', async () => {
    const query = `query ($n: Int) { posts(perPage: $n) { items { id comments_via_post { id } } } }`
    // posts 1, items n, id n, comments_via_post n, and their id once per comment the service
    // may expand: 10 per post, at most 150 in one response. 1 + 3n + min(10n, 150):
    // 116 is 499, 117 is 502.
    const ok = await gql(blog.t, query, { n: 116 })
    expect(ok.errors).toBeUndefined()
    const before = recordStatements
    const tooMuch = await gql(blog.t, query, { n: 117 })
    expect(errorCode(tooMuch)).toBe('ER_GRAPHQL_COST_LIMIT')
    expect(tooMuch.errors?.[0]?.extensions).toMatchObject({ cost: 502, limit: 500 })
    expect(recordStatements).toBe(before)
    // The checks are kept by variables: each set keeps its own answer.
    expect((await gql(blog.t, query, { n: 116 })).errors).toBeUndefined()
    expect(errorCode(await gql(blog.t, query, { n: 117 }))).toBe('ER_GRAPHQL_COST_LIMIT')
    // A few posts cost by the comments each may have: 1 + 3 × 4 + 10 × 4 = 53.
    const few = await gql(blog.t, `{ posts(perPage: 4) { items { id comments_via_post { id } } } }`)
    expect(few.errors).toBeUndefined()
  })

  it('refuses a mutation over a limit without writing', async () => {
    const before = dataOf(await gql(blog.t, `{ posts { totalItems } }`))
    const mutation = `mutation {
      a: createPosts(input: { title: "a", author: "ualice" }) { id }
      b: createPosts(input: { title: "b", author: "ualice" }) { id }
      c: createPosts(input: { title: "c", author: "ualice" }) { id }
      d: createPosts(input: { title: "d", author: "ualice" }) { id }
    }`
    await refusedBeforeExecution(mutation, 'ER_GRAPHQL_ALIAS_LIMIT')
    expect(dataOf(await gql(blog.t, `{ posts { totalItems } }`))).toEqual(before)
  })

  it('turns introspection off but keeps __typename', async () => {
    const result = await gql(blog.t, `{ __schema { types { name } } }`)
    expect(errorCode(result)).toBe('ER_GRAPHQL_INTROSPECTION_DISABLED')
    expect(dataOf(await gql(blog.t, `{ __typename }`))).toEqual({ __typename: 'Query' })
  })

  it('gives no "Did you mean" hints while introspection is off', async () => {
    const typo = await gql(blog.t, `{ posts { items { titel } } }`)
    expect(errorCode(typo)).toBe('ER_GRAPHQL_INVALID')
    expect(typo.errors?.[0]?.message).toBe('Cannot query field "titel" on type "Post".')
    expect(typo.errors?.[0]?.locations).toEqual([{ line: 1, column: 19 }])
  })

  it('runs batches of up to maxBatch operations and refuses larger ones whole', async () => {
    const send = (operations: object[]) =>
      blog.t.call({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(operations),
      })
    const ok = await send([
      { query: '{ posts(perPage: 1) { perPage } }' },
      { query: 'query ($n: Int) { comments(perPage: $n) { perPage } }', variables: { n: 2 } },
    ])
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual([
      { data: { posts: { perPage: 1 } } },
      { data: { comments: { perPage: 2 } } },
    ])
    const tooMany = await send([
      { query: '{ __typename }' },
      { query: '{ __typename }' },
      { query: '{ __typename }' },
    ])
    expect(tooMany.statusCode).toBe(400)
    expect(
      (tooMany.json() as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    ).toBe('ER_GRAPHQL_BATCH_LIMIT')
  })

  it('stops a document with too many tokens before parsing it all', async () => {
    const huge = `{ ${Array.from({ length: 25_000 }, () => '__typename').join(' ')} }`
    const result = await gql(blog.t, huge)
    expect(errorCode(result)).toBe('ER_GRAPHQL_SYNTAX')
    expect(result.errors?.[0]?.message).toMatch(/token/i)
  })
})
