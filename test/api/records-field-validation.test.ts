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

const fields = [
  { name: 'title', type: 'text', min: 2, max: 5, pattern: '^[a-z]+$' },
  { name: 'n', type: 'number', min: -10, max: 10 },
  { name: 'whole', type: 'number', integer: true },
  { name: 'flag', type: 'bool' },
  { name: 'when', type: 'date' },
  { name: 'mail', type: 'email' },
  { name: 'link', type: 'url' },
  { name: 'status', type: 'select', values: ['draft', 'published'] },
  { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 2 },
  { name: 'data', type: 'json', maxSize: 20 },
  { name: 'ref', type: 'relation', collection: 'targets' },
  { name: 'refs', type: 'relation', collection: 'targets', maxSelect: 5 },
  { name: 'stamp', type: 'autodate', onCreate: true, onUpdate: false },
  { name: 'touched', type: 'autodate', onCreate: true, onUpdate: true },
  { name: 'kind', type: 'text', default: 'plain' },
  { name: 'slug', type: 'text', unique: true },
]

interface Row {
  field: string
  value: unknown
  /** The stored value; omitted when it is `value` itself. */
  stored?: unknown
}

const valid: Row[] = [
  { field: 'title', value: 'ab' },
  { field: 'title', value: 'abcde' },
  { field: 'title', value: '', stored: null },
  { field: 'n', value: -10 },
  { field: 'n', value: 10 },
  { field: 'n', value: 2.5 },
  { field: 'whole', value: 42 },
  { field: 'whole', value: -9007199254740991 },
  { field: 'flag', value: true },
  { field: 'flag', value: false },
  { field: 'when', value: '2026-02-28', stored: '2026-02-28T00:00:00.000Z' },
  { field: 'when', value: '2024-02-29T10:00:00Z', stored: '2024-02-29T10:00:00.000Z' },
  { field: 'when', value: '2026-01-02 10:00:00+02:00', stored: '2026-01-02T08:00:00.000Z' },
  { field: 'when', value: '2026-01-02T10:00:00.123456Z', stored: '2026-01-02T10:00:00.123Z' },
  { field: 'mail', value: 'ann@example.com' },
  { field: 'link', value: 'https://example.com/a?b=c' },
  { field: 'link', value: 'http://localhost:8090' },
  { field: 'status', value: 'draft' },
  { field: 'status', value: ['published'], stored: 'published' },
  { field: 'tags', value: ['a', 'c'] },
  { field: 'tags', value: ['a', 'a'], stored: ['a'] },
  { field: 'tags', value: 'b', stored: ['b'] },
  { field: 'tags', value: [], stored: [] },
  { field: 'data', value: { a: [1, 2] } },
  { field: 'data', value: 'text' },
  { field: 'data', value: 0 },
]

const invalid: (Row & { code: string })[] = [
  { field: 'title', value: 'a', code: 'min' },
  { field: 'title', value: 'abcdef', code: 'max' },
  { field: 'title', value: 'ABC', code: 'pattern' },
  { field: 'title', value: 12, code: 'type' },
  { field: 'title', value: 'ab\ud800', code: 'encoding' },
  { field: 'n', value: -11, code: 'min' },
  { field: 'n', value: 11, code: 'max' },
  { field: 'n', value: '5', code: 'type' },
  { field: 'n', value: true, code: 'type' },
  { field: 'whole', value: 1.5, code: 'integer' },
  { field: 'whole', value: 2 ** 60, code: 'integer' },
  { field: 'flag', value: 'true', code: 'type' },
  { field: 'flag', value: 1, code: 'type' },
  { field: 'when', value: '2026-02-31', code: 'date' },
  { field: 'when', value: '2025-02-29', code: 'date' },
  { field: 'when', value: '2026-13-01', code: 'date' },
  { field: 'when', value: '2026-01-01T25:00:00Z', code: 'date' },
  { field: 'when', value: '31/01/2026', code: 'date' },
  { field: 'when', value: 'yesterday', code: 'date' },
  { field: 'when', value: 1767225600000, code: 'type' },
  { field: 'mail', value: 'not-an-email', code: 'email' },
  { field: 'mail', value: 'a b@example.com', code: 'email' },
  { field: 'link', value: 'javascript:alert(1)', code: 'url' },
  { field: 'link', value: 'ftp://example.com/x', code: 'url' },
  { field: 'link', value: 'example.com', code: 'url' },
  { field: 'status', value: 'archived', code: 'value' },
  { field: 'status', value: ['draft', 'published'], code: 'maxSelect' },
  { field: 'tags', value: ['a', 'b', 'c'], code: 'maxSelect' },
  { field: 'tags', value: ['z'], code: 'value' },
  { field: 'tags', value: [1], code: 'type' },
  { field: 'data', value: 'x'.repeat(30), code: 'maxSize' },
  { field: 'ref', value: 'bad id!', code: 'value' },
  { field: 'refs', value: { id: 'x' }, code: 'type' },
]

describe.each(dialects)('record field validation on %s', (dialect) => {
  let t: TestEngine
  let targetId: string
  const count = async () =>
    (await listRecords(t, 'things', { count: 'true', perPage: '1' })).totalItems

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'targets', fields: [{ name: 'label', type: 'text' }] })
    await createCollection(t, { name: 'things', fields })
    await createCollection(t, {
      name: 'strict',
      fields: [
        { name: 'need', type: 'text', required: true },
        { name: 'yes', type: 'bool', required: true },
        { name: 'pick', type: 'select', values: ['x'], maxSelect: 3, required: true },
      ],
    })
    targetId = (await createRecord(t, 'targets', { label: 't' })).id as string
  })
  afterAll(async () => {
    await t.close()
  })

  it.each(valid)('accepts $field = $value', async ({ field, value, stored }) => {
    const record = await createRecord(t, 'things', { [field]: value })
    const expected = stored === undefined ? value : stored
    expect(record[field]).toEqual(expected)
    const read = await t.call({
      method: 'GET',
      url: `/api/collections/things/records/${record.id}`,
    })
    expect(read.json()[field]).toEqual(expected)
  })

  it.each(invalid)(
    'rejects $field = $value with 400 $code, creating nothing',
    async ({ field, value, code }) => {
      const before = await count()
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/things/records',
        payload: { [field]: value },
      })
      const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
      expect(Object.keys(problem.errors ?? {})).toEqual([field])
      expect(problem.errors?.[field]?.[0]?.code).toBe(code)
      expect(problem.detail).toContain(field)
      expect(await count()).toBe(before)
    },
  )

  it.each(invalid)(
    'rejects $field = $value on update too, changing nothing',
    async ({ field, value, code }) => {
      const record = await createRecord(t, 'things', {})
      const res = await t.call({
        method: 'PATCH',
        url: `/api/collections/things/records/${record.id}`,
        payload: { [field]: value },
      })
      expect(expectProblem(res, 400, 'ER_VALIDATION_FAILED').errors?.[field]?.[0]?.code).toBe(code)
      const read = await t.call({
        method: 'GET',
        url: `/api/collections/things/records/${record.id}`,
      })
      expect(read.json()).toEqual(record)
    },
  )

  it.each([Infinity, -Infinity, NaN])(
    'rejects the non-finite number %s, sent as a bare JSON literal',
    async (value) => {
      const before = await count()
      const raw = `{"n": ${String(value)}}`
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/things/records',
        payload: raw,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.statusCode).toBe(400)
      expect(await count()).toBe(before)
    },
  )

  it('rejects 1e400 (parsed as Infinity) as a number', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/things/records',
      payload: '{"n": 1e400}',
      headers: { 'content-type': 'application/json' },
    })
    expect(expectProblem(res, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('n')
  })

  it('checks relations exist, naming the field', async () => {
    const before = await count()
    for (const payload of [
      { ref: 'missing0000000000000' },
      { refs: [targetId, 'missing0000000000000'] },
    ]) {
      const res = await t.call({ method: 'POST', url: '/api/collections/things/records', payload })
      const problem = expectProblem(res, 400, 'ER_RELATION_MISSING')
      expect(Object.keys(problem.errors ?? {})).toEqual(Object.keys(payload))
      expect(problem.detail).toContain('missing0000000000000')
    }
    expect(await count()).toBe(before)
    const ok = await createRecord(t, 'things', { ref: targetId, refs: [targetId] })
    expect(ok).toMatchObject({ ref: targetId, refs: [targetId] })
  })

  it('sets autodate fields itself and ignores what the client sends', async () => {
    const sent = '2000-01-01T00:00:00.000Z'
    const record = await createRecord(t, 'things', {
      stamp: sent,
      touched: sent,
      created: sent,
      updated: sent,
    })
    for (const key of ['stamp', 'touched', 'created', 'updated']) {
      expect(record[key]).not.toBe(sent)
      expect(Date.parse(record[key] as string)).toBeGreaterThan(Date.parse('2020-01-01'))
    }
    expect(record.stamp).toBe(record.created)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const res = await t.call({
      method: 'PATCH',
      url: `/api/collections/things/records/${record.id}`,
      payload: { kind: 'x', stamp: sent },
    })
    const updated = res.json()
    expect(updated.stamp).toBe(record.stamp)
    expect(updated.created).toBe(record.created)
    expect(updated.touched > (record.touched as string)).toBe(true)
    expect(updated.updated).toBe(updated.touched)
  })

  it('applies defaults only when the key is absent', async () => {
    expect((await createRecord(t, 'things', {})).kind).toBe('plain')
    expect((await createRecord(t, 'things', { kind: 'other' })).kind).toBe('other')
    expect((await createRecord(t, 'things', { kind: null })).kind).toBeNull()
  })

  it('enforces required fields on create and update', async () => {
    const missing = expectProblem(
      await t.call({ method: 'POST', url: '/api/collections/strict/records', payload: {} }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expect(Object.keys(missing.errors ?? {}).sort()).toEqual(['need', 'pick', 'yes'])
    const empty = expectProblem(
      await t.call({
        method: 'POST',
        url: '/api/collections/strict/records',
        payload: { need: '', yes: false, pick: [] },
      }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expect(Object.keys(empty.errors ?? {}).sort()).toEqual(['need', 'pick'])
    const ok = await createRecord(t, 'strict', { need: 'x', yes: false, pick: ['x'] })
    expect(ok.yes).toBe(false)
    const emptied = await t.call({
      method: 'PATCH',
      url: `/api/collections/strict/records/${ok.id}`,
      payload: { need: '' },
    })
    expect(expectProblem(emptied, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('need')
    expect((await listRecords(t, 'strict')).items).toHaveLength(1)
  })

  it('answers 409 naming the field on a unique violation, and stores nothing', async () => {
    await createRecord(t, 'things', { slug: 'one' })
    const before = await count()
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/things/records',
      payload: { slug: 'one' },
    })
    const problem = expectProblem(res, 409, 'ER_RECORD_CONFLICT')
    expect(Object.keys(problem.errors ?? {})).toEqual(['slug'])
    expect(await count()).toBe(before)
    const other = await createRecord(t, 'things', { slug: 'two' })
    const update = await t.call({
      method: 'PATCH',
      url: `/api/collections/things/records/${other.id}`,
      payload: { slug: 'one' },
    })
    expect(Object.keys(expectProblem(update, 409, 'ER_RECORD_CONFLICT').errors ?? {})).toEqual([
      'slug',
    ])
    // Empty values do not collide with each other.
    await createRecord(t, 'things', { slug: '' })
    await createRecord(t, 'things', { slug: '' })
  })

  it('accepts a client-supplied id and rejects invalid or duplicate ones', async () => {
    const record = await createRecord(t, 'things', { id: 'my-own_ID-1' })
    expect(record.id).toBe('my-own_ID-1')
    expect(
      (await t.call({ method: 'GET', url: '/api/collections/things/records/my-own_ID-1' }))
        .statusCode,
    ).toBe(200)
    const before = await count()
    for (const id of ['', 'has space', 'x'.repeat(65), 'a/b', 'é', 42, null]) {
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/things/records',
        payload: { id },
      })
      expect(
        expectProblem(res, 400, 'ER_VALIDATION_FAILED').errors,
        JSON.stringify(id),
      ).toHaveProperty('id')
    }
    const dup = await t.call({
      method: 'POST',
      url: '/api/collections/things/records',
      payload: { id: 'my-own_ID-1' },
    })
    expect(Object.keys(expectProblem(dup, 409, 'ER_RECORD_CONFLICT').errors ?? {})).toEqual(['id'])
    expect(await count()).toBe(before)
    const change = await t.call({
      method: 'PATCH',
      url: '/api/collections/things/records/my-own_ID-1',
      payload: { id: 'other' },
    })
    expect(expectProblem(change, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('id')
  })

  it('rejects an unknown key, naming it, and reports every problem at once', async () => {
    const before = await count()
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/things/records',
      payload: { nope: 1, title: 'A', n: 99 },
    })
    const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
    expect(Object.keys(problem.errors ?? {}).sort()).toEqual(['n', 'nope', 'title'])
    expect(problem.errors?.nope?.[0]?.code).toBe('unknown')
    expect(await count()).toBe(before)
  })

  it.each([[[]], ['text'], [null], [3]])('rejects the non-object body %j', async (body) => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/things/records',
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  })
})
