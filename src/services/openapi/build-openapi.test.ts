import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, it } from 'vitest'
import type { CollectionDef, FieldDef } from '../../core/schema/types.js'
import { buildOpenApiDocument, collectionStems } from './build-openapi.js'
import { COLLECTION_COMPONENT_SUFFIXES } from './openapi-names.js'
import type { JsonSchema } from './openapi-types.js'

const rules = { list: '', view: '', create: null, update: null, delete: null }

function collection(
  name: string,
  fields: FieldDef[],
  type: CollectionDef['type'] = 'base',
): CollectionDef {
  const at = '2026-01-01T00:00:00.000Z'
  return {
    id: `c_${name}`,
    name,
    type,
    system: false,
    fields,
    indexes: [],
    rules,
    created: at,
    updated: at,
  }
}

const superusers = { ...collection('_superusers', [], 'auth'), system: true }
const users = collection('users', [{ id: 'u1', name: 'name', type: 'text' }], 'auth')
const posts = collection('posts', [
  { id: 'f1', name: 'title', type: 'text', required: true, min: 3, max: 200, pattern: '^[^<]*$' },
  { id: 'f2', name: 'views', type: 'number', integer: true, min: 0 },
  { id: 'f3', name: 'published', type: 'bool', required: true },
  { id: 'f4', name: 'publishAt', type: 'date', min: '2020-01-01T00:00:00.000Z' },
  { id: 'f5', name: 'contact', type: 'email', required: true },
  { id: 'f6', name: 'homepage', type: 'url', max: 500 },
  { id: 'f7', name: 'status', type: 'select', values: ['draft', 'published'], required: true },
  { id: 'f8', name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3, minSelect: 1 },
  { id: 'f9', name: 'meta', type: 'json', maxSize: 1024 },
  { id: 'f10', name: 'author', type: 'relation', collection: 'users', maxSelect: 1 },
  { id: 'f11', name: 'editors', type: 'relation', collection: 'users', maxSelect: 5 },
  { id: 'f12', name: 'touched', type: 'autodate', onCreate: true, onUpdate: true },
  { id: 'f13', name: 'secret', type: 'text', hidden: true, required: true },
  { id: 'f14', name: 'lang', type: 'text', required: true, default: 'en' },
])

async function expectValid(doc: object): Promise<void> {
  const result = await new Validator().validate(doc as Record<string, unknown>)
  expect(result.errors).toBeUndefined()
  expect(result.valid).toBe(true)
}

/** The schema at a `#/components/schemas/<name>` key. */
function schema(doc: ReturnType<typeof buildOpenApiDocument>, name: string): JsonSchema {
  const found = doc.components.schemas[name]
  if (found === undefined) throw new Error(`no schema ${name}`)
  return found
}

function props(s: JsonSchema): Record<string, JsonSchema> {
  return s['properties'] as Record<string, JsonSchema>
}

describe('buildOpenApiDocument', () => {
  it('is a valid 3.1 document with no collections', async () => {
    const doc = buildOpenApiDocument([])
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/collections', '/api/batch', '/healthz', '/readyz']),
    )
    expect(doc.components.securitySchemes['bearerAuth']).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    })
    await expectValid(doc)
  })

  it('describes the consent endpoints with their body and problems', async () => {
    const doc = buildOpenApiDocument([])
    const consents = doc.paths['/api/privacy/consents'] as Record<string, JsonSchema>
    const post = consents.post as { requestBody: JsonSchema; responses: Record<string, unknown> }
    expect(JSON.stringify(post.requestBody)).toContain('"required":["purpose","granted"]')
    expect(Object.keys(post.responses)).toEqual(['201', '400', '401', '403'])
    expect(Object.keys(consents.get as object)).toContain('parameters')
    await expectValid(doc)
  })

  it('describes an auth collection and a collection with every field type', async () => {
    const doc = buildOpenApiDocument([posts, users, superusers], {
      title: 'Test',
      version: '9.9.9',
      serverUrl: 'http://localhost:8090',
    })
    await expectValid(doc)
    expect(doc.info).toMatchObject({ title: 'Test', version: '9.9.9' })
    expect(doc.servers).toEqual([{ url: 'http://localhost:8090' }])
    for (const name of ['posts', 'users', '_superusers']) {
      expect(doc.paths[`/api/collections/${name}/records`]).toHaveProperty('get')
      expect(doc.paths[`/api/collections/${name}/records`]).toHaveProperty('post')
      expect(Object.keys(doc.paths[`/api/collections/${name}/records/{id}`] ?? {})).toEqual(
        expect.arrayContaining(['get', 'patch', 'delete']),
      )
    }
    expect(doc.paths['/api/collections/_superusers/auth/password']).toHaveProperty('post')
    expect(doc.paths['/api/collections/users/auth/password']).toHaveProperty('post')
    expect(doc.paths['/api/collections/posts/auth/password']).toBeUndefined()
  })

  it('keeps hidden fields and passwords out of records and marks them write-only', () => {
    const doc = buildOpenApiDocument([posts, superusers])
    const record = props(schema(doc, 'PostsRecord'))
    expect(record).not.toHaveProperty('secret')
    expect(schema(doc, 'PostsRecord')['required']).not.toContain('secret')
    expect(props(schema(doc, 'PostsCreate'))['secret']).toMatchObject({ writeOnly: true })

    const admin = props(schema(doc, 'SuperusersRecord'))
    expect(admin).toMatchObject({ email: { format: 'email' }, verified: { type: 'boolean' } })
    expect(admin).not.toHaveProperty('password')
    expect(admin).not.toHaveProperty('tokenKey')
    expect(props(schema(doc, 'SuperusersCreate'))['password']).toEqual({
      type: 'string',
      minLength: 8,
      writeOnly: true,
    })
    expect(props(schema(doc, 'SuperusersAuthResponse'))['record']).toEqual({
      $ref: '#/components/schemas/SuperusersRecord',
    })
  })

  it('documents the protected field option and marks protected inputs', () => {
    const doc = buildOpenApiDocument([posts])
    expect(props(schema(doc, 'TextField'))['protected']).toMatchObject({ type: 'boolean' })
    const guarded = {
      ...posts,
      fields: [{ id: 'r1', name: 'role', type: 'text' as const, protected: true }],
    }
    const create = props(schema(buildOpenApiDocument([guarded]), 'PostsCreate'))
    expect(create['role']?.['description']).toContain('only superusers')
  })

  it('maps each field type to its JSON shape', () => {
    const doc = buildOpenApiDocument([posts, users])
    const record = props(schema(doc, 'PostsRecord'))
    expect(record['created']).toMatchObject({ type: 'string', format: 'date-time' })
    expect(record['views']).toEqual({ type: ['integer', 'null'] })
    expect(record['published']).toEqual({ type: 'boolean' })
    expect(record['publishAt']).toEqual({ type: ['string', 'null'], format: 'date-time' })
    expect(record['homepage']).toEqual({ type: ['string', 'null'], format: 'uri' })
    // Required: the engine never stores null there, so generated clients need no null check.
    expect(record['status']).toEqual({ type: 'string', enum: ['draft', 'published'] })
    expect(record['title']).toEqual({ type: 'string' })
    expect(record['contact']).toEqual({ type: 'string', format: 'email' })
    expect(record['lang']).toEqual({ type: 'string' })
    for (const system of ['id', 'created', 'updated']) {
      expect(record[system]).toMatchObject({ type: 'string', readOnly: true })
    }
    // Every property is always present in a response (null when unset).
    expect(schema(doc, 'PostsRecord')['required']).toEqual(
      Object.keys(record).filter((name) => name !== 'expand'),
    )
    expect(record['tags']).toEqual({
      type: 'array',
      items: { type: 'string', enum: ['a', 'b', 'c'] },
    })
    expect(record['meta']).toEqual({})
    expect(record['author']).toEqual({ type: ['string', 'null'] })
    expect(record['editors']).toEqual({ type: 'array', items: { type: 'string' } })
    expect(props(record['expand'] ?? {})).toEqual({
      author: { $ref: '#/components/schemas/UsersRecord' },
      editors: { type: 'array', items: { $ref: '#/components/schemas/UsersRecord' } },
    })
  })

  it('puts constraints and the required list on the create body', () => {
    const doc = buildOpenApiDocument([posts, users])
    const create = schema(doc, 'PostsCreate')
    // `published` is a required bool: absent means false, so it is not required; neither is
    // `lang`, whose default fills it in; nor are the engine's own id, created and updated.
    expect(create['required']).toEqual(['title', 'contact', 'status', 'secret'])
    // Said in words: openapi-typescript makes a property with a JSON Schema `default` required.
    expect(props(create)['lang']).toEqual({
      type: 'string',
      description: 'Defaults to `"en"` when left out.',
    })
    expect(props(create)).not.toHaveProperty('created')
    const body = props(create)
    expect(body['id']).toMatchObject({ type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' })
    expect(body['title']).toEqual({
      type: 'string',
      minLength: 3,
      maxLength: 200,
      pattern: '^[^<]*$',
    })
    expect(body['views']).toEqual({ type: ['integer', 'null'], minimum: 0 })
    expect(body['status']).toEqual({ type: 'string', enum: ['draft', 'published'] })
    expect(body['tags']).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 3,
      uniqueItems: true,
    })
    expect(body).not.toHaveProperty('touched')

    const update = schema(doc, 'PostsUpdate')
    expect(update).not.toHaveProperty('required')
    expect(props(update)).not.toHaveProperty('id')
    expect(schema(doc, 'UsersCreate')['required']).toEqual(['email', 'password'])
  })

  it('maps collection names to collision-free component names', async () => {
    const odd = [
      collection('blog_posts', []),
      collection('blogPosts', []),
      collection('BlogPosts', []),
      collection('__', []),
    ]
    expect(collectionStems([...odd, superusers])).toEqual(
      new Map([
        ['BlogPosts', 'BlogPosts'],
        ['__', 'Collection'],
        ['_superusers', 'Superusers'],
        ['blogPosts', 'BlogPosts_2'],
        ['blog_posts', 'BlogPosts_3'],
      ]),
    )
    const doc = buildOpenApiDocument(odd)
    await expectValid(doc)
    for (const stem of ['BlogPosts', 'BlogPosts_2', 'BlogPosts_3', 'Collection']) {
      expect(doc.components.schemas).toHaveProperty(`${stem}Record`)
    }
    for (const name of Object.keys(doc.components.schemas)) {
      expect(name).toMatch(/^[a-zA-Z0-9._-]+$/)
    }
  })

  it('gives no fixed component a per-collection suffix', () => {
    const fixed = Object.keys(buildOpenApiDocument([]).components.schemas)
    for (const suffix of Object.values(COLLECTION_COMPONENT_SUFFIXES)) {
      expect(fixed.filter((name) => name.endsWith(suffix))).toEqual([])
    }
  })

  it('uses only JSON Schema type names', () => {
    const types = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'])
    const bad: unknown[] = []
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk)
      if (typeof node !== 'object' || node === null) return
      for (const [key, value] of Object.entries(node)) {
        const names = Array.isArray(value) ? value : [value]
        if (key === 'type' && !names.every((t) => types.has(t as string))) bad.push(value)
        // Under `properties` the keys are property names (`type` among them), not keywords.
        if (key === 'properties') Object.values(value as object).forEach(walk)
        else walk(value)
      }
    }
    walk(buildOpenApiDocument([posts, users, superusers]).components.schemas)
    expect(bad).toEqual([])
  })

  it('is deterministic whatever the input order', () => {
    const a = JSON.stringify(buildOpenApiDocument([posts, users, superusers]))
    const b = JSON.stringify(buildOpenApiDocument([superusers, users, posts]))
    expect(a).toBe(b)
  })

  it('references the shared Problem schema from every error response', () => {
    const doc = buildOpenApiDocument([posts])
    for (const response of Object.values(doc.components.responses)) {
      expect(response['content']).toEqual({
        'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      })
    }
    const create = (doc.paths['/api/collections/posts/records'] as Record<string, JsonSchema>)[
      'post'
    ]
    expect(Object.keys(create?.['responses'] ?? {})).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
    ])
  })
})
