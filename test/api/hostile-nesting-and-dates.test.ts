/**
 * Input that once slipped past validation: JSON nested thousands of levels deep (a stack
 * overflow, answered 500) and calendar dates that do not exist (`2024-02-30`, stored as March 1
 * when written with a time zone). Each is now a 400 naming the problem, through every door
 * (REST create and update, batch, GraphQL variables and literals, schema definitions, filters),
 * and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCollection,
  createRecord,
  expectProblem,
  listRecords,
} from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const DOCS = '/api/collections/docs/records'
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe.each(dialects)('hostile nesting and impossible dates on %s', (dialect) => {
  let t: TestEngine
  let existing: string
  const count = async () => (await listRecords(t, 'docs', { count: 'true' })).totalItems
  const raw = (method: 'POST' | 'PATCH', url: string, payload: string) =>
    t.call({ method, url, payload, headers: { 'content-type': 'application/json' } })
  const graphql = (payload: string) => raw('POST', '/graphql', payload)

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'docs',
      fields: [
        { name: 'data', type: 'json' },
        { name: 'when', type: 'date' },
      ],
    })
    existing = (await createRecord(t, 'docs', { data: [1] })).id as string
  })
  afterAll(() => t?.close())

  it('accepts nesting up to 64 levels', async () => {
    const res = await raw('POST', DOCS, `{"data":${nested(63)}}`)
    expect(res.statusCode, res.body).toBe(201)
  })

  it.each([65, 5_000, 200_000])(
    'refuses JSON %i levels deep everywhere, writing nothing',
    async (depth) => {
      const before = await count()
      const body = `{"data":${nested(depth)}}`
      const create = expectProblem(await raw('POST', DOCS, body), 400, 'ER_REQUEST_MALFORMED')
      expect(create.errors?.body?.[0]?.code).toBe('depth')
      expect(create.position).toBe(71) // `{` is level 1, so the 64th `[` (at 8 + 63) is level 65
      expectProblem(await raw('PATCH', `${DOCS}/${existing}`, body), 400, 'ER_REQUEST_MALFORMED')
      const batch = `{"requests":[{"method":"POST","url":"${DOCS}","body":${body}}]}`
      expectProblem(await raw('POST', '/api/batch', batch), 400, 'ER_REQUEST_MALFORMED')
      const variables = `{"query":"mutation($v: JSON) { createDocs(input: {data: $v}) { id } }","variables":{"v":${nested(depth)}}}`
      expectProblem(await graphql(variables), 400, 'ER_REQUEST_MALFORMED')
      const literal = JSON.stringify({
        query: `mutation { createDocs(input: {data: ${nested(depth)}}) { id } }`,
      })
      const answer = await graphql(literal)
      expect(answer.statusCode).toBeLessThan(500)
      expect(answer.json().errors[0].extensions.code).toBe('ER_GRAPHQL_SYNTAX')
      expect(await count()).toBe(before)
      const stored = await t.call({ method: 'GET', url: `${DOCS}/${existing}` })
      expect(stored.json().data).toEqual([1])
    },
  )

  it('a GraphQL document nests at most 64 brackets: a literal within is stored, beyond is a syntax error', async () => {
    // `{ ( {` of the mutation are three levels; 60 more is 63.
    const literal = JSON.stringify({
      query: `mutation { createDocs(input: {data: ${nested(60)}}) { id } }`,
    })
    const ok = await graphql(literal)
    expect(ok.json().errors).toBeUndefined()
    const deep = JSON.stringify({
      query: `mutation { createDocs(input: {data: ${nested(62)}}) { id } }`,
    })
    const refused = await graphql(deep)
    expect(refused.json().errors[0].extensions.code).toBe('ER_GRAPHQL_SYNTAX')
  })

  it.each([
    '2024-02-30',
    '2024-02-30T10:00:00Z',
    '2024-02-30T10:00:00+02:00',
    '2023-02-29 00:00:00',
    '2024-04-31t00:00:00z',
    '2024-13-01',
  ])('refuses the impossible date %s, writing nothing', async (when) => {
    const before = await count()
    const res = expectProblem(
      await t.call({ method: 'POST', url: DOCS, payload: { when } }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expect(Object.keys(res.errors ?? {})).toEqual(['when'])
    expect(await count()).toBe(before)
    const filter = await t.call({
      method: 'GET',
      url: `${DOCS}?filter=${encodeURIComponent(`when > "${when}"`)}`,
    })
    expectProblem(filter, 400, 'ER_FILTER_TYPE_MISMATCH')
  })

  it('accepts real dates, lower-case designators and 29 February of a leap year', async () => {
    for (const [when, stored] of [
      ['2024-02-29T23:00:00+01:00', '2024-02-29T22:00:00.000Z'],
      ['2024-02-29t10:00:00z', '2024-02-29T10:00:00.000Z'],
      ['2026-12-31', '2026-12-31T00:00:00.000Z'],
    ] as const) {
      const res = await t.call({ method: 'POST', url: DOCS, payload: { when } })
      expect(res.statusCode, res.body).toBe(201)
      expect(res.json().when).toBe(stored)
    }
  })

  it('refuses an impossible date as a date field bound in a schema', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'events',
        fields: [{ name: 'at', type: 'date', min: '2024-02-30T00:00:00Z' }],
      },
    })
    const problem = expectProblem(res, 400, 'ER_SCHEMA_INVALID')
    expect(JSON.stringify(problem.errors)).toContain('min')
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections/events' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })
})
