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

const records = (name: string, id?: string) =>
  `/api/collections/${name}/records${id ? `/${id}` : ''}`

describe.each(dialects)('batch and delete semantics on %s', (dialect) => {
  let t: TestEngine
  const batch = (requests: unknown) =>
    t.call({ method: 'POST', url: '/api/batch', payload: { requests } as object })
  const ids = async (name: string) =>
    (await listRecords(t, name, { sort: 'id', perPage: '500' })).items.map((r) => r.id)

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'slug', type: 'text', unique: true },
      ],
    })
    await createCollection(t, { name: 'parents', fields: [{ name: 'name', type: 'text' }] })
    await createCollection(t, {
      name: 'kids',
      fields: [
        { name: 'cascade', type: 'relation', collection: 'parents', onDelete: 'cascade' },
        { name: 'nulls', type: 'relation', collection: 'parents', onDelete: 'setNull' },
        {
          name: 'many',
          type: 'relation',
          collection: 'parents',
          maxSelect: 5,
          onDelete: 'setNull',
        },
      ],
    })
    await createCollection(t, {
      name: 'guards',
      fields: [{ name: 'keep', type: 'relation', collection: 'parents', onDelete: 'restrict' }],
    })
    await createCollection(t, {
      name: 'grandkids',
      fields: [{ name: 'kid', type: 'relation', collection: 'kids', onDelete: 'cascade' }],
    })
  })
  afterAll(async () => {
    await t.close()
  })

  it('applies nothing when request 3 of 4 is invalid, and names index 3', async () => {
    const before = await ids('notes')
    const res = await batch([
      { method: 'POST', url: records('notes'), body: { id: 'b1', title: 'one' } },
      { method: 'POST', url: records('notes'), body: { id: 'b2', title: 'two' } },
      { method: 'POST', url: records('notes'), body: { id: 'b3', title: 'three' } },
      { method: 'POST', url: records('notes'), body: { title: '' } },
    ])
    const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
    expect(problem.index).toBe(3)
    expect(problem.errors).toHaveProperty('title')
    expect(problem.detail).toContain('Request 3')
    expect(await ids('notes')).toEqual(before)
  })

  it('rolls back on a unique conflict met late in the batch (409, index)', async () => {
    await createRecord(t, 'notes', { id: 'taken', title: 't', slug: 'taken' })
    const before = await ids('notes')
    const res = await batch([
      { method: 'POST', url: records('notes'), body: { id: 'c1', title: 'x', slug: 'fresh' } },
      { method: 'PATCH', url: records('notes', 'taken'), body: { title: 'changed' } },
      { method: 'POST', url: records('notes'), body: { title: 'y', slug: 'fresh' } },
    ])
    expect(expectProblem(res, 409, 'ER_RECORD_CONFLICT').index).toBe(2)
    expect(await ids('notes')).toEqual(before)
    expect((await t.call({ method: 'GET', url: records('notes', 'taken') })).json().title).toBe('t')
  })

  it('runs mixed creates, updates and deletes, each seeing the earlier ones', async () => {
    await createRecord(t, 'notes', { id: 'm1', title: 'old' })
    await createRecord(t, 'notes', { id: 'm2', title: 'doomed' })
    const res = await batch([
      { method: 'POST', url: records('notes'), body: { id: 'm3', title: 'new' } },
      { method: 'PATCH', url: records('notes', 'm1'), body: { title: 'updated' } },
      { method: 'delete', url: records('notes', 'm2') },
      { method: 'PATCH', url: records('notes', 'm3'), body: { title: 'newer' } },
      { method: 'POST', url: `${records('notes')}?expand=`, body: { id: 'm4', title: 'q' } },
    ])
    expect(res.statusCode, res.body).toBe(200)
    const results = res.json() as { status: number; body: Record<string, unknown> | null }[]
    expect(results.map((r) => r.status)).toEqual([201, 200, 204, 200, 201])
    expect(results[0]?.body).toMatchObject({ id: 'm3', title: 'new' })
    expect(results[1]?.body).toMatchObject({ id: 'm1', title: 'updated' })
    expect(results[2]?.body).toBeNull()
    expect(results[3]?.body).toMatchObject({ id: 'm3', title: 'newer' })
    expectProblem(
      await t.call({ method: 'GET', url: records('notes', 'm2') }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expect((await t.call({ method: 'GET', url: records('notes', 'm3') })).json().title).toBe(
      'newer',
    )
  })

  it('refuses an empty list and more than 100 requests', async () => {
    const one = { method: 'POST', url: records('notes'), body: { title: 'x' } }
    const before = await ids('notes')
    expect(
      expectProblem(
        await batch(Array.from({ length: 101 }, () => one)),
        400,
        'ER_VALIDATION_FAILED',
      ).errors,
    ).toHaveProperty('requests')
    expect(expectProblem(await batch([]), 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
      'requests',
    )
    expect(expectProblem(await batch('nope'), 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
      'requests',
    )
    expect(await ids('notes')).toEqual(before)
    const hundred = await batch(Array.from({ length: 100 }, () => one))
    expect(hundred.statusCode).toBe(200)
    expect(await ids('notes')).toHaveLength(before.length + 100)
  })

  it.each([
    [{ method: 'POST', url: '/api/collections/notes' }, 'url'],
    [{ method: 'POST', url: '/api/batch' }, 'url'],
    [{ method: 'POST', url: 'http://evil.example/api/collections/notes/records' }, 'url'],
    [{ method: 'POST', url: '/api/collections/notes/records/../../x' }, 'url'],
    [{ method: 'POST' }, 'url'],
    [{ method: 'GET', url: records('notes') }, 'method'],
    [{ method: 'PUT', url: records('notes', 'm1') }, 'method'],
    [{ method: 'POST', url: records('notes', 'm1') }, 'method'],
    [{ method: 'DELETE', url: records('notes') }, 'method'],
    [{ url: records('notes') }, 'method'],
    [null, 'url'],
  ])('refuses %j at index 1 with 400 naming %s', async (bad, key) => {
    const before = await ids('notes')
    const res = await batch([{ method: 'POST', url: records('notes'), body: { title: 'ok' } }, bad])
    const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
    expect(problem.index).toBe(1)
    expect(problem.errors).toHaveProperty(key)
    expect(await ids('notes')).toEqual(before)
  })

  it('names the index of a missing record or collection', async () => {
    expect(
      expectProblem(
        await batch([{ method: 'DELETE', url: records('notes', 'ghost') }]),
        404,
        'ER_RECORD_NOT_FOUND',
      ).index,
    ).toBe(0)
    expect(
      expectProblem(
        await batch([
          { method: 'POST', url: records('notes'), body: { title: 'a' } },
          { method: 'POST', url: records('ghosts'), body: {} },
        ]),
        404,
        'ER_COLLECTION_NOT_FOUND',
      ).index,
    ).toBe(1)
  })

  it('refuses anonymous batches with 401', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/batch',
      anonymous: true,
      payload: { requests: [{ method: 'POST', url: records('notes'), body: { title: 'x' } }] },
    })
    expectProblem(res, 401, 'ER_AUTH_REQUIRED')
  })

  it('restrict: refuses with 409 naming the field and deletes nothing', async () => {
    await createRecord(t, 'parents', { id: 'pr', name: 'guarded' })
    await createRecord(t, 'kids', { id: 'kr', cascade: 'pr' })
    await createRecord(t, 'guards', { id: 'g1', keep: 'pr' })
    const problem = expectProblem(
      await t.call({ method: 'DELETE', url: records('parents', 'pr') }),
      409,
      'ER_RELATION_RESTRICTED',
    )
    expect(problem.errors).toHaveProperty(['guards.keep'])
    expect(await ids('parents')).toContain('pr')
    expect(await ids('kids')).toContain('kr')
    // In a batch too, with the index.
    const inBatch = await batch([
      { method: 'DELETE', url: records('kids', 'kr') },
      { method: 'DELETE', url: records('parents', 'pr') },
    ])
    expect(expectProblem(inBatch, 409, 'ER_RELATION_RESTRICTED').index).toBe(1)
    expect(await ids('kids')).toContain('kr')
    // Once the guard lets go, the delete goes through.
    await t.call({ method: 'DELETE', url: records('guards', 'g1') })
    expect((await t.call({ method: 'DELETE', url: records('parents', 'pr') })).statusCode).toBe(204)
    expect(await ids('kids')).not.toContain('kr')
  })

  it('cascade deletes dependents (and theirs); setNull clears single and removes from multi', async () => {
    await createRecord(t, 'parents', { id: 'pa', name: 'a' })
    await createRecord(t, 'parents', { id: 'pb', name: 'b' })
    await createRecord(t, 'kids', { id: 'k1', cascade: 'pa' })
    await createRecord(t, 'kids', { id: 'k2', nulls: 'pa', many: ['pb', 'pa'] })
    await createRecord(t, 'kids', { id: 'k3', cascade: 'pb', nulls: 'pb', many: ['pa'] })
    await createRecord(t, 'grandkids', { id: 'gk1', kid: 'k1' })
    await createRecord(t, 'grandkids', { id: 'gk2', kid: 'k2' })
    const before = (await t.call({ method: 'GET', url: records('kids', 'k2') })).json()
    expect((await t.call({ method: 'DELETE', url: records('parents', 'pa') })).statusCode).toBe(204)
    expect(await ids('parents')).not.toContain('pa')
    const kids = await ids('kids')
    expect(kids).not.toContain('k1')
    expect(kids).toEqual(expect.arrayContaining(['k2', 'k3']))
    expect(await ids('grandkids')).toEqual(expect.arrayContaining(['gk2']))
    expect(await ids('grandkids')).not.toContain('gk1')
    const k2 = (await t.call({ method: 'GET', url: records('kids', 'k2') })).json()
    expect(k2).toMatchObject({ nulls: null, many: ['pb'] })
    expect(k2.updated >= before.updated).toBe(true)
    const k3 = (await t.call({ method: 'GET', url: records('kids', 'k3') })).json()
    expect(k3).toMatchObject({ cascade: 'pb', nulls: 'pb', many: [] })
    expect(
      (await listRecords(t, 'kids', { filter: 'many ?= "pa" || nulls = "pa"' })).items,
    ).toEqual([])
  })

  it('a failed cascade in a batch leaves everything in place', async () => {
    await createRecord(t, 'parents', { id: 'pc', name: 'c' })
    await createRecord(t, 'kids', { id: 'kc', cascade: 'pc', many: ['pc'] })
    const res = await batch([
      { method: 'DELETE', url: records('parents', 'pc') },
      { method: 'POST', url: records('notes'), body: {} },
    ])
    expect(expectProblem(res, 400, 'ER_VALIDATION_FAILED').index).toBe(1)
    expect(await ids('parents')).toContain('pc')
    expect((await t.call({ method: 'GET', url: records('kids', 'kc') })).json()).toMatchObject({
      cascade: 'pc',
      many: ['pc'],
    })
  })
})
