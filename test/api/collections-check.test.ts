/**
 * `POST /api/collections/check` and `/api/collections/{name}/check`: the errors a create or an
 * update would answer (a rule's parser error with its position), for superusers only, with
 * nothing written: no collection, no table change, no migration file.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('collection dry runs (%s)', (dialect) => {
  let t: TestEngine
  const migrations = () =>
    existsSync(join(t.dir, 'migrations')) ? readdirSync(join(t.dir, 'migrations')).length : 0
  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'posts', fields: [{ name: 'title', type: 'text' }] })
  })
  afterAll(() => t.close())

  const draft = (list: string) => ({
    name: 'drafts',
    fields: [{ name: 'title', type: 'text' }],
    rules: { list, view: null, create: null, update: null, delete: null },
  })

  it('names a broken rule with its position, and a good definition passes; nothing is written', async () => {
    const before = migrations()
    const broken = await t.call({
      method: 'POST',
      url: '/api/collections/check',
      payload: draft('title = '),
    })
    const problem = expectProblem(broken, 400, 'ER_SCHEMA_INVALID')
    expect(problem.errors?.['rules.list']?.[0]?.message).toMatch(/position \d+|at \d+/i)
    const unknown = await t.call({
      method: 'POST',
      url: '/api/collections/check',
      payload: draft('nope = 1'),
    })
    expect(
      expectProblem(unknown, 400, 'ER_SCHEMA_INVALID').errors?.['rules.list']?.[0]?.message,
    ).toContain('nope')
    const good = await t.call({
      method: 'POST',
      url: '/api/collections/check',
      payload: draft('title != ""'),
    })
    expect(good.statusCode, good.body).toBe(204)
    expect((await t.call({ method: 'GET', url: '/api/collections/drafts' })).statusCode).toBe(404)
    expect(migrations()).toBe(before)
  })

  it('checks an update of an existing collection against its fields', async () => {
    const rules = (list: string) => ({
      rules: { list, view: null, create: null, update: null, delete: null },
    })
    const bad = await t.call({
      method: 'POST',
      url: '/api/collections/posts/check',
      payload: rules('views > 1'),
    })
    expect(expectProblem(bad, 400, 'ER_SCHEMA_INVALID').errors).toHaveProperty(['rules.list'])
    const ok = await t.call({
      method: 'POST',
      url: '/api/collections/posts/check',
      payload: rules('title ~ "a"'),
    })
    expect(ok.statusCode, ok.body).toBe(204)
    const current = (await t.call({ method: 'GET', url: '/api/collections/posts' })).json()
    expect(current.rules.list).toBeNull()
    expectProblem(
      await t.call({ method: 'POST', url: '/api/collections/nowhere/check', payload: rules('') }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })

  it('is for superusers only', async () => {
    expectProblem(
      await t.call({
        method: 'POST',
        url: '/api/collections/check',
        payload: draft(''),
        anonymous: true,
      }),
      401,
      'ER_AUTH_REQUIRED',
    )
  })
})
