import { readdirSync } from 'node:fs'
import { join } from 'node:path'
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

const MIGRATION_NAME = /^\d{14}-[a-z0-9-]+\.json$/

/** One field of every type, each with every option it accepts. */
const everyType = [
  {
    name: 'title',
    type: 'text',
    required: true,
    unique: true,
    min: 1,
    max: 200,
    pattern: '^[A-Za-z ]+$',
    default: 'Untitled',
  },
  { name: 'views', type: 'number', min: 0, max: 1e9, integer: true, default: 0 },
  { name: 'flag', type: 'bool', default: true, hidden: true },
  {
    name: 'due',
    type: 'date',
    min: '2000-01-01',
    max: '2100-01-01T00:00:00Z',
    default: '2026-01-01',
  },
  { name: 'contact', type: 'email', max: 100, default: 'a@example.com' },
  { name: 'site', type: 'url', max: 500, default: 'https://example.com' },
  {
    name: 'status',
    type: 'select',
    values: ['draft', 'published'],
    maxSelect: 1,
    default: 'draft',
  },
  {
    name: 'tags',
    type: 'select',
    values: ['a', 'b', 'c'],
    maxSelect: 3,
    minSelect: 1,
    default: ['a'],
  },
  { name: 'meta', type: 'json', maxSize: 1000, default: { k: 1 } },
  {
    name: 'parent',
    type: 'relation',
    collection: 'typed',
    maxSelect: 1,
    minSelect: 0,
    onDelete: 'cascade',
  },
  { name: 'stamped', type: 'autodate', onCreate: true, onUpdate: true },
]

describe.each(dialects)('collections CRUD on %s', (dialect) => {
  let t: TestEngine
  const migrations = () => readdirSync(join(t.dir, 'migrations')).sort()

  beforeAll(async () => {
    t = await createTestEngine(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('creates, lists, gets, patches and deletes a collection', async () => {
    const created = await createCollection(t, {
      name: 'crud_a',
      fields: [{ name: 'title', type: 'text' }],
    })
    expect(created).toMatchObject({ name: 'crud_a', type: 'base', system: false })
    expect((created.fields as { id: string }[])[0]?.id).toMatch(/^f/)

    const list = await t.call({ method: 'GET', url: '/api/collections' })
    expect(list.statusCode).toBe(200)
    const names = (list.json().items as { name: string }[]).map((c) => c.name)
    expect(names).toContain('crud_a')
    expect(names).toContain('_superusers')

    const got = await t.call({ method: 'GET', url: '/api/collections/crud_a' })
    expect(got.statusCode).toBe(200)
    expect(got.json()).toEqual(created)

    const patched = await t.call({
      method: 'PATCH',
      url: '/api/collections/crud_a',
      payload: {
        rules: { list: '' },
        fields: [
          { name: 'title', type: 'text' },
          { name: 'n', type: 'number' },
        ],
      },
    })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json().rules.list).toBe('')
    expect(patched.json().fields.map((f: { name: string }) => f.name)).toEqual(['title', 'n'])
    // The field sent without an id but under its old name keeps its identity.
    expect(patched.json().fields[0].id).toBe((created.fields as { id: string }[])[0]?.id)

    const deleted = await t.call({ method: 'DELETE', url: '/api/collections/crud_a' })
    expect(deleted.statusCode).toBe(204)
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections/crud_a' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections/crud_a/records' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })

  it('accepts every field type with all of its options', async () => {
    const created = await createCollection(t, {
      name: 'typed',
      fields: everyType,
      indexes: [{ fields: ['status', 'created'] }],
    })
    const fields = created.fields as Record<string, unknown>[]
    expect(fields.map((f) => f.type)).toEqual(everyType.map((f) => f.type))
    for (const [i, field] of everyType.entries()) expect(fields[i]).toMatchObject(field)
    const record = await createRecord(t, 'typed', { title: 'Hello' })
    expect(record).toMatchObject({
      views: 0,
      flag: true,
      due: '2026-01-01T00:00:00.000Z',
      status: 'draft',
      tags: ['a'],
      meta: { k: 1 },
    })
    expect(record.stamped).toBe(record.created)
  })

  const invalid: { why: string; body: unknown; path: string; message?: RegExp }[] = [
    {
      why: 'max below min',
      body: {
        name: 'bad',
        fields: [
          { name: 'a', type: 'text' },
          { name: 'b', type: 'text', min: 5, max: 2 },
        ],
      },
      path: 'fields.1.max',
    },
    {
      why: 'an unknown option',
      body: { name: 'bad', fields: [{ name: 'a', type: 'text', maxSelect: 2 }] },
      path: 'fields.0.maxSelect',
    },
    {
      why: 'a reserved name',
      body: { name: 'bad', fields: [{ name: 'id', type: 'text' }] },
      path: 'fields.0.name',
    },
    {
      why: 'a reserved name in other case',
      body: { name: 'bad', fields: [{ name: 'Created', type: 'text' }] },
      path: 'fields.0.name',
    },
    {
      why: 'names differing only in case',
      body: {
        name: 'bad',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'Title', type: 'text' },
        ],
      },
      path: 'fields.1.name',
    },
    {
      why: 'empty select values',
      body: { name: 'bad', fields: [{ name: 's', type: 'select', values: [] }] },
      path: 'fields.0.values',
    },
    {
      why: 'repeated select values',
      body: { name: 'bad', fields: [{ name: 's', type: 'select', values: ['x', 'x'] }] },
      path: 'fields.0.values',
    },
    {
      why: 'a default outside the values',
      body: { name: 'bad', fields: [{ name: 's', type: 'select', values: ['x'], default: 'y' }] },
      path: 'fields.0.default',
    },
    {
      why: 'a relation to a missing collection',
      body: { name: 'bad', fields: [{ name: 'r', type: 'relation', collection: 'nowhere' }] },
      path: 'fields.0.collection',
    },
    {
      why: 'an unknown field type',
      body: { name: 'bad', fields: [{ name: 'r', type: 'blob' }] },
      path: 'fields.0.type',
    },
    {
      why: 'an invalid pattern',
      body: { name: 'bad', fields: [{ name: 'r', type: 'text', pattern: '(' }] },
      path: 'fields.0.pattern',
    },
    {
      why: 'a bad field name',
      body: { name: 'bad', fields: [{ name: 'a-b', type: 'text' }] },
      path: 'fields.0.name',
    },
    { why: 'a bad collection name', body: { name: 'bad name', fields: [] }, path: 'name' },
    { why: 'a reserved collection name', body: { name: '_mine', fields: [] }, path: 'name' },
    { why: 'an unknown collection option', body: { name: 'bad', colour: 'red' }, path: 'colour' },
    {
      why: 'an index over a missing field',
      body: { name: 'bad', indexes: [{ fields: ['nope'] }] },
      path: 'indexes.0.fields',
    },
    {
      why: 'bad rule syntax',
      body: { name: 'bad', fields: [{ name: 'title', type: 'text' }], rules: { list: 'title = ' } },
      path: 'rules.list',
      message: /position 8/,
    },
    {
      why: 'a rule naming an unknown field',
      body: { name: 'bad', rules: { view: 'nope = 1' } },
      path: 'rules.view',
      message: /position 0/,
    },
    { why: 'a body that is not an object', body: [1, 2], path: 'body' },
  ]
  it.each(invalid)('rejects $why with 400 naming $path', async ({ body, path, message }) => {
    const before = migrations().length
    const res = await t.call({ method: 'POST', url: '/api/collections', payload: body as object })
    const problem = expectProblem(res, 400, 'ER_SCHEMA_INVALID')
    expect(Object.keys(problem.errors ?? {})).toContain(path)
    if (message) expect(problem.errors?.[path]?.[0]?.message).toMatch(message)
    expect(migrations().length).toBe(before)
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections/bad' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })

  it('answers 409 to a duplicate collection name, in any case', async () => {
    await createCollection(t, { name: 'dupe' })
    expectProblem(
      await t.call({ method: 'POST', url: '/api/collections', payload: { name: 'dupe' } }),
      409,
      'ER_COLLECTION_EXISTS',
    )
    expectProblem(
      await t.call({ method: 'POST', url: '/api/collections', payload: { name: 'DUPE' } }),
      409,
      'ER_COLLECTION_EXISTS',
    )
  })

  it.each([
    { who: 'anonymous', headers: undefined, anonymous: true, code: 'ER_AUTH_REQUIRED' },
    {
      who: 'a garbage token',
      headers: { authorization: 'Bearer abc.def.ghi' },
      anonymous: false,
      code: 'ER_AUTH_TOKEN_INVALID',
    },
    {
      who: 'a malformed header',
      headers: { authorization: 'Basic cm9vdDpyb290' },
      anonymous: false,
      code: 'ER_AUTH_TOKEN_INVALID',
    },
  ])('answers 401 to $who on every route', async ({ headers, anonymous, code }) => {
    for (const [method, url] of [
      ['GET', '/api/collections'],
      ['POST', '/api/collections'],
      ['GET', '/api/collections/_superusers'],
      ['PATCH', '/api/collections/_superusers'],
      ['DELETE', '/api/collections/_superusers'],
    ] as const) {
      const res = await t.call({
        method,
        url,
        anonymous,
        ...(headers ? { headers } : {}),
        ...(method === 'POST' || method === 'PATCH' ? { payload: { name: 'x' } } : {}),
      })
      const problem = expectProblem(res, 401, code)
      expect(problem).not.toHaveProperty('fields')
      expect(problem).not.toHaveProperty('items')
    }
  })

  it('renames a field and keeps its data', async () => {
    const def = await createCollection(t, {
      name: 'ren_f',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'n', type: 'number' },
      ],
    })
    const [title, n] = def.fields as { id: string; name: string }[]
    await createRecord(t, 'ren_f', { title: 'one', n: 1 })
    await createRecord(t, 'ren_f', { title: 'two', n: 2 })
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/ren_f',
      payload: {
        fields: [
          { id: title?.id, name: 'headline', type: 'text' },
          { id: n?.id, name: 'n', type: 'number' },
        ],
      },
    })
    expect(res.statusCode, res.body).toBe(200)
    const { items } = await listRecords(t, 'ren_f', { sort: 'n' })
    expect(items.map((r) => r.headline)).toEqual(['one', 'two'])
    expect(items.every((r) => !('title' in r))).toBe(true)
    expect((await listRecords(t, 'ren_f', { filter: 'headline = "two"' })).items).toHaveLength(1)
  })

  it('drops a field left out of the list, and its data with it', async () => {
    await createCollection(t, {
      name: 'drop_f',
      fields: [
        { name: 'keep', type: 'text' },
        { name: 'gone', type: 'text' },
      ],
    })
    await createRecord(t, 'drop_f', { keep: 'k', gone: 'g' })
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/drop_f',
      payload: { fields: [{ name: 'keep', type: 'text' }] },
    })
    expect(res.statusCode, res.body).toBe(200)
    const [record] = (await listRecords(t, 'drop_f')).items
    expect(record).toMatchObject({ keep: 'k' })
    expect(record).not.toHaveProperty('gone')
    // Adding it back makes a new, empty column.
    await t.call({
      method: 'PATCH',
      url: '/api/collections/drop_f',
      payload: {
        fields: [
          { name: 'keep', type: 'text' },
          { name: 'gone', type: 'text' },
        ],
      },
    })
    expect((await listRecords(t, 'drop_f')).items[0]?.gone).toBeNull()
  })

  it('renames a collection, keeps its data, and relation fields follow the new name', async () => {
    await createCollection(t, { name: 'authors', fields: [{ name: 'name', type: 'text' }] })
    await createCollection(t, {
      name: 'books',
      fields: [{ name: 'author', type: 'relation', collection: 'authors' }],
    })
    const ann = await createRecord(t, 'authors', { name: 'Ann' })
    await createRecord(t, 'books', { author: ann.id })
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/authors',
      payload: { name: 'writers' },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().name).toBe('writers')
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections/authors/records' }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
    expect((await listRecords(t, 'writers')).items.map((r) => r.name)).toEqual(['Ann'])
    const books = await t.call({ method: 'GET', url: '/api/collections/books' })
    expect(books.json().fields[0]).toMatchObject({ name: 'author', collection: 'writers' })
    const expanded = await listRecords(t, 'books', {
      expand: 'author',
      filter: 'author.name = "Ann"',
    })
    expect(expanded.items).toHaveLength(1)
    expect(expanded.items[0]?.expand).toMatchObject({ author: { name: 'Ann' } })
    // A new book can point at the renamed collection's records.
    await createRecord(t, 'books', { author: ann.id })
  })

  it('refuses to delete a collection that a relation refers to (409) and keeps it', async () => {
    await createCollection(t, { name: 'teams' })
    await createCollection(t, {
      name: 'players',
      fields: [{ name: 'team', type: 'relation', collection: 'teams' }],
    })
    const before = migrations().length
    const problem = expectProblem(
      await t.call({ method: 'DELETE', url: '/api/collections/teams' }),
      409,
      'ER_SCHEMA_CONFLICT',
    )
    expect(problem.detail).toContain('players.team')
    expect((await t.call({ method: 'GET', url: '/api/collections/teams' })).statusCode).toBe(200)
    expect(migrations().length).toBe(before)
  })

  it('refuses to delete or rename the _superusers system collection', async () => {
    expectProblem(
      await t.call({ method: 'DELETE', url: '/api/collections/_superusers' }),
      403,
      'ER_FORBIDDEN',
    )
    const rename = await t.call({
      method: 'PATCH',
      url: '/api/collections/_superusers',
      payload: { name: 'admins' },
    })
    expect(expectProblem(rename, 400, 'ER_SCHEMA_INVALID').errors).toHaveProperty('name')
    expect((await t.call({ method: 'GET', url: '/api/collections/_superusers' })).statusCode).toBe(
      200,
    )
    // The signed-in superuser still works.
    expect((await t.call({ method: 'GET', url: '/api/collections' })).statusCode).toBe(200)
  })

  it('writes one migration file per schema change', async () => {
    const before = migrations()
    expect(before.every((name) => MIGRATION_NAME.test(name))).toBe(true)
    await createCollection(t, { name: 'mig', fields: [{ name: 'a', type: 'text' }] })
    const afterCreate = migrations()
    expect(afterCreate.length).toBe(before.length + 1)
    const created = afterCreate.find((n) => !before.includes(n)) as string
    expect(created).toMatch(MIGRATION_NAME)
    expect(created).toContain('create-mig')
    await t.call({
      method: 'PATCH',
      url: '/api/collections/mig',
      payload: { fields: [{ name: 'b', type: 'text' }] },
    })
    const afterPatch = migrations()
    expect(afterPatch.length).toBe(before.length + 2)
    expect(afterPatch.at(-1)).toMatch(MIGRATION_NAME)
    expect(afterPatch.at(-1)! > created).toBe(true)
    await t.call({ method: 'DELETE', url: '/api/collections/mig' })
    expect(migrations().length).toBe(before.length + 3)
    expect(migrations().at(-1)).toMatch(/-delete-mig\.json$/)
  })

  it('a failed change (unique index over duplicates → 409) writes no file and changes nothing', async () => {
    const def = await createCollection(t, {
      name: 'uniq',
      fields: [{ name: 'slug', type: 'text' }],
    })
    await createRecord(t, 'uniq', { slug: 'same' })
    await createRecord(t, 'uniq', { slug: 'same' })
    const before = migrations()
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/uniq',
      payload: {
        fields: [
          { name: 'slug', type: 'text', unique: true },
          { name: 'extra', type: 'text' },
        ],
      },
    })
    expect(res.statusCode, res.body).toBe(409)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(migrations()).toEqual(before)
    const after = await t.call({ method: 'GET', url: '/api/collections/uniq' })
    expect(after.json()).toEqual(def)
    const { items } = await listRecords(t, 'uniq')
    expect(items).toHaveLength(2)
    expect(items[0]).not.toHaveProperty('extra')
    // The index may still be added once the data allows it.
    const second = items[1] as { id: string }
    await t.call({
      method: 'PATCH',
      url: `/api/collections/uniq/records/${second.id}`,
      payload: { slug: 'other' },
    })
    const ok = await t.call({
      method: 'PATCH',
      url: '/api/collections/uniq',
      payload: { fields: [{ name: 'slug', type: 'text', unique: true }] },
    })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(migrations().length).toBe(before.length + 1)
  })
})
