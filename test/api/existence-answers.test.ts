/**
 * What a caller can learn about records it cannot see, decided one case at a time (README,
 * "Existence"): a client-chosen id that is taken is a 409 (a primary key cannot be shared, and
 * the answer carries nothing of the other record); a relation may point at a record the caller
 * cannot view (a message to a user whose profile is private), so it is checked for existence
 * only, and only after the rule let the write through; a unique value of a hidden field would
 * tell whether any record holds it, so hidden fields may be unique only when protected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('answers about invisible records on %s', (dialect) => {
  let t: TestEngine
  let ann: string
  const as = (payload: object, url: string) =>
    t.app.inject({
      method: 'POST',
      url,
      payload,
      headers: { authorization: `Bearer ${ann}` },
    })

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [],
      rules: { list: null, view: 'id = @request.auth.id', create: '', update: null, delete: null },
    })
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: {
        list: 'owner = @request.auth.id',
        view: 'owner = @request.auth.id',
        create: '@request.body.owner = @request.auth.id',
        update: null,
        delete: null,
      },
    })
    await createCollection(t, {
      name: 'messages',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'to', type: 'relation', collection: 'users' },
      ],
      rules: {
        list: null,
        view: null,
        create: '@request.auth.id != ""',
        update: null,
        delete: null,
      },
    })
    await createRecord(t, 'users', {
      id: 'ubob',
      email: 'bob@example.com',
      password: 'bob password',
    })
    await createRecord(t, 'notes', { id: 'nsecret', text: 'bob secret', owner: 'ubob' })
    await createRecord(t, 'users', {
      id: 'uann',
      email: 'ann@example.com',
      password: 'ann password',
    })
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: 'ann password' },
    })
    ann = (res.json() as { token: string }).token
  })
  afterAll(() => t?.close())

  it('a taken client-chosen id is a 409 that carries nothing of the other record', async () => {
    const res = await as(
      { id: 'nsecret', text: 'mine', owner: 'uann' },
      '/api/collections/notes/records',
    )
    const problem = expectProblem(res, 409, 'ER_RECORD_CONFLICT')
    expect(Object.keys(problem.errors ?? {})).toEqual(['id'])
    expect(res.body).not.toContain('bob secret')
    expect(res.body).not.toContain('ubob')
  })

  it('a relation may name a record the caller cannot view; a missing one is a 400', async () => {
    const toBob = await as({ text: 'hi bob', to: 'ubob' }, '/api/collections/messages/records')
    expect(toBob.statusCode, toBob.body).toBe(201)
    const toNobody = await as({ text: 'hi?', to: 'unobody' }, '/api/collections/messages/records')
    expectProblem(toNobody, 400, 'ER_RELATION_MISSING')
  })

  it('a caller the rule refuses learns nothing about relation targets', async () => {
    for (const owner of ['ubob', 'unobody']) {
      expectProblem(
        await as({ text: 'x', owner }, '/api/collections/notes/records'),
        403,
        'ER_FORBIDDEN',
      )
    }
  })

  it('a hidden field may be unique only when protected (field or index)', async () => {
    const field = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'ssn1',
        fields: [{ name: 'ssn', type: 'text', hidden: true, unique: true }],
      },
    })
    const problem = expectProblem(field, 400, 'ER_SCHEMA_INVALID')
    expect(problem.errors?.['fields.0.unique']?.[0]?.code).toBe('hidden_unique')
    const index = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'ssn2',
        fields: [{ name: 'ssn', type: 'text', hidden: true }],
        indexes: [{ fields: ['ssn'], unique: true }],
      },
    })
    expect(expectProblem(index, 400, 'ER_SCHEMA_INVALID').errors?.['indexes.0.unique']).toBeTruthy()
    const protectedField = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: {
        name: 'ssn3',
        fields: [{ name: 'ssn', type: 'text', hidden: true, unique: true, protected: true }],
      },
    })
    expect(protectedField.statusCode, protectedField.body).toBe(201)
  })
})
