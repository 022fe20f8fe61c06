/**
 * A create alone on PostgreSQL answers with the row the codec predicts (`Codec.stored`), not the
 * row the database returns. These values are where a prediction and the database could part:
 * whatever the POST answers, a GET of the same record must answer the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const LONE_SURROGATE = 'half\uD83D'

describe.each(await availableDialects())('a create alone on %s, edge values', (dialect) => {
  let t: TestEngine
  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'edges',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'qty', type: 'number' },
        { name: 'whole', type: 'number', integer: true },
        { name: 'meta', type: 'json' },
      ],
    })
  })
  afterAll(() => t.close())

  const roundTrip = async (body: Record<string, unknown>) => {
    const created = await createRecord(t, 'edges', body)
    const read = await t.call({
      method: 'GET',
      url: `/api/collections/edges/records/${created.id}`,
    })
    expect(read.statusCode).toBe(200)
    return { created, read: read.json() as Record<string, unknown> }
  }

  it.each([
    ['huge and tiny numbers', { qty: 1.7976931348623157e308, whole: -(2 ** 53 - 1) }],
    ['1e21 and its neighbours', { qty: 1e21, whole: 2 ** 53 - 1 }],
    ['the smallest subnormal', { qty: 5e-324 }],
    ['negative zero', { qty: -0, whole: -0 }],
    ['unusual but well-formed text', { title: '\uFEFFa\u0301\u2028\u2029\uFFFF\u{10FFFF} ' }],
    ['json with escapes', { meta: { '\u0000': '\u0000\uD800', é: [1e21, -0, 5e-324] } }],
  ])('%s: the POST answer is what a GET reads', async (_what, body) => {
    const { created, read } = await roundTrip(body)
    expect(read).toEqual(created)
  })

  // PostgreSQL stores a lone surrogate as U+FFFD and refuses NUL: a record holding such a
  // select value would read back a value the field does not allow (or not be written at all).
  it.each([
    ['a lone surrogate', LONE_SURROGATE],
    ['NUL', 'nul\u0000'],
  ])('the schema refuses a select value with %s', async (_what, value) => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'bad_select',
        fields: [{ name: 'kind', type: 'select', values: ['plain', value] }],
      },
    })
    const problem = expectProblem(res, 400, 'ER_SCHEMA_INVALID')
    expect(JSON.stringify(problem.errors)).toContain('values')
    const list = await t.call({ method: 'GET', url: '/api/collections/bad_select' })
    expect(list.statusCode).toBe(404)
  })
})
