/**
 * `/api/openapi.json` and GraphQL introspection show each caller only what a rule could ever
 * grant its class: anonymous callers, records of each auth collection, an API key's scopes,
 * superusers (everything). No superuser-only collection, no hidden field name (outside what
 * the caller may write), no operation its rules can never allow; the descriptions follow rule
 * changes at once.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { dataOf, gql } from '../graphql/graphql-fixture.js'

type Doc = {
  paths: Record<string, Record<string, unknown>>
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
  info: { description: string }
}

const NONE = { list: null, view: null, create: null, update: null, delete: null }
const OWNER = 'owner = @request.auth.id'
const INTROSPECTION = `{ __schema {
  queryType { fields { name } } mutationType { fields { name } }
  subscriptionType { fields { name } }
  types { name fields { name } inputFields { name } } } }`

describe.each(await availableDialects())('per-caller API descriptions on %s', (dialect) => {
  let t: TestEngine
  const tokens: Record<'alice' | 'bob' | 'sam' | 'key', string> = {
    alice: '',
    bob: '',
    sam: '',
    key: '',
  }

  const signIn = async (collection: string, email: string) => {
    const res = await t.call({
      method: 'POST',
      url: `/api/collections/${collection}/auth/password`,
      payload: { identity: email, password: 'a good password' },
      anonymous: true,
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { token: string }).token
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [
        { name: 'nickname', type: 'text' },
        { name: 'internalScore', type: 'number', hidden: true },
      ],
      rules: { ...NONE, list: 'id = @request.auth.id', view: 'id = @request.auth.id', create: '' },
    })
    await createCollection(t, {
      name: 'staff',
      type: 'auth',
      fields: [{ name: 'badge', type: 'text' }],
      rules: NONE,
    })
    await createCollection(t, {
      name: 'audit',
      fields: [{ name: 'entry', type: 'text' }],
      rules: NONE,
    })
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'body', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users' },
        { name: 'draftNote', type: 'text', hidden: true },
        { name: 'privateTag', type: 'text', hidden: true, protected: true },
      ],
      rules: {
        list: OWNER,
        view: OWNER,
        create: '@request.auth.id != ""',
        update: OWNER,
        delete: OWNER,
      },
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'staff' },
        { name: 'reviewNote', type: 'text', hidden: true },
      ],
      rules: { ...NONE, list: '', view: '', create: '@request.auth.collectionName = "staff"' },
    })
    await createCollection(t, {
      name: 'memos',
      fields: [{ name: 'text', type: 'text' }],
      rules: {
        ...NONE,
        list: '@request.auth.collectionName = "staff"',
        view: '@request.auth.collectionName = "staff"',
      },
    })
    // A relation kept hidden: who is assigned to a ticket is for superusers only.
    const open = { ...NONE, list: '', view: '' }
    await createCollection(t, {
      name: 'people',
      fields: [{ name: 'name', type: 'text' }],
      rules: open,
    })
    await createCollection(t, {
      name: 'tickets',
      fields: [
        { name: 'subject', type: 'text' },
        { name: 'assignee', type: 'relation', collection: 'people', hidden: true },
      ],
      rules: open,
    })
    await createRecord(t, 'people', { id: 'pat', name: 'Pat' })
    await createRecord(t, 'tickets', { id: 't1', subject: 'printer', assignee: 'pat' })
    for (const name of ['alice', 'bob']) {
      await createRecord(t, 'users', { email: `${name}@example.com`, password: 'a good password' })
    }
    await createRecord(t, 'staff', { email: 'sam@example.com', password: 'a good password' })
    tokens.alice = await signIn('users', 'alice@example.com')
    tokens.bob = await signIn('users', 'bob@example.com')
    tokens.sam = await signIn('staff', 'sam@example.com')
    const key = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/api-keys',
      headers: { authorization: `Bearer ${tokens.alice}` },
      payload: {
        name: 'read notes',
        scopes: [{ collection: 'notes', operations: ['list', 'view'] }],
      },
      anonymous: true,
    })
    expect(key.statusCode, key.body).toBe(201)
    tokens.key = (key.json() as { key: string }).key
  })
  afterAll(() => t.close())

  /** The caller's document, checked valid; `undefined` is the superuser. */
  async function documentFor(
    token: string | null | undefined,
  ): Promise<{ doc: Doc; text: string }> {
    const res = await t.call({
      method: 'GET',
      url: '/api/openapi.json',
      anonymous: token !== undefined,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('private, no-cache')
    const doc = res.json() as Doc
    const result = await new Validator().validate(doc as never)
    expect(result.errors ?? []).toEqual([])
    return { doc, text: res.body }
  }

  const methods = (doc: Doc, path: string) =>
    Object.keys(doc.paths[path] ?? {})
      .filter((key) => ['get', 'post', 'patch', 'delete'].includes(key))
      .sort()
  const records = (name: string) => `/api/collections/${name}/records`
  const one = (name: string) => `/api/collections/${name}/records/{id}`
  const props = (doc: Doc, schema: string) =>
    Object.keys(doc.components.schemas[schema]?.properties ?? {})

  it('shows anonymous callers only what their rules could allow', async () => {
    const { doc, text } = await documentFor(null)
    for (const hidden of [
      'audit',
      'memos',
      'notes',
      'reviewNote',
      'badge',
      'draftNote',
      'privateTag',
    ]) {
      expect(text, hidden).not.toContain(hidden)
    }
    expect(methods(doc, records('posts'))).toEqual(['get'])
    expect(methods(doc, one('posts'))).toEqual(['get'])
    // Anyone may sign up to users (create ""), nobody anonymous may read them.
    expect(methods(doc, records('users'))).toEqual(['post'])
    expect(doc.paths[one('users')]).toBeUndefined()
    expect(props(doc, 'UsersRecord')).not.toContain('internalScore')
    expect(props(doc, 'UsersCreate')).toContain('internalScore')
    // Sign-in is open to everyone: auth endpoints of every auth collection, system fields only.
    for (const name of ['users', 'staff', '_superusers']) {
      expect(doc.paths[`/api/collections/${name}/auth/password`], name).toBeDefined()
    }
    expect(props(doc, 'StaffRecord').sort()).toEqual([
      'created',
      'email',
      'expand',
      'id',
      'updated',
      'verified',
    ])
    expect(doc.paths[records('staff')]).toBeUndefined()
    expect(doc.paths[records('_superusers')]).toBeUndefined()
    // The schema API is for superusers; posts' author leads to staff, which nobody may view.
    expect(doc.paths['/api/collections']).toBeUndefined()
    expect(props(doc, 'PostsRecord')).toContain('author')
    expect(doc.components.schemas.PostsRecord?.properties?.expand).toMatchObject({ properties: {} })
    expect(doc.info.description).toContain('anonymous callers')
  })

  it('shows a signed-in user what rules could allow records of its collection', async () => {
    const { doc, text } = await documentFor(tokens.alice)
    expect(methods(doc, records('notes'))).toEqual(['get', 'post'])
    expect(methods(doc, one('notes'))).toEqual(['delete', 'get', 'patch'])
    // A hidden field the user may write is named as an input only; a protected one not at all.
    expect(props(doc, 'NotesCreate')).toContain('draftNote')
    expect(props(doc, 'NotesRecord')).not.toContain('draftNote')
    expect(text).not.toContain('privateTag')
    expect(props(doc, 'UsersRecord')).toContain('nickname')
    expect(methods(doc, one('users'))).toEqual(['get'])
    // Staff-only, superuser-only: absent. Posts: read only (creating is for staff).
    for (const name of ['audit', 'memos', 'reviewNote', 'badge'])
      expect(text, name).not.toContain(name)
    expect(methods(doc, records('posts'))).toEqual(['get'])
    // Another user of the same collection gets the same document.
    expect((await documentFor(tokens.bob)).text).toBe(text)
  })

  it('shows another auth collection its own rules, and a caller is its collection', async () => {
    const { doc, text } = await documentFor(tokens.sam)
    expect(methods(doc, records('memos'))).toEqual(['get'])
    expect(methods(doc, records('posts'))).toEqual(['get', 'post'])
    // owner = @request.auth.id names users: it can never hold for staff. Creating can.
    expect(methods(doc, records('notes'))).toEqual(['post'])
    expect(doc.paths[one('notes')]).toBeUndefined()
    expect(text).not.toContain('audit')
  })

  it('narrows an API key to its scopes', async () => {
    const { doc } = await documentFor(tokens.key)
    expect(methods(doc, records('notes'))).toEqual(['get'])
    expect(methods(doc, one('notes'))).toEqual(['get'])
    expect(doc.paths[records('posts')]).toBeUndefined()
    expect(doc.paths[records('users')]).toBeUndefined()
    expect(doc.info.description).toContain('API key')
  })

  it('shows superusers everything, hidden fields included', async () => {
    const { doc } = await documentFor(undefined)
    expect(methods(doc, records('audit'))).toEqual(['get', 'post'])
    expect(methods(doc, one('_superusers'))).toEqual(['delete', 'get', 'patch'])
    expect(doc.paths['/api/collections']).toBeDefined()
    expect(props(doc, 'PostsRecord')).toContain('reviewNote')
    expect(props(doc, 'NotesCreate')).toContain('privateTag')
  })

  it('gives each class its own GraphQL schema', async () => {
    const schemaOf = async (token: string | null) => {
      const result = await gql(t, INTROSPECTION, undefined, token)
      const data = dataOf(result).__schema as {
        queryType: { fields: { name: string }[] }
        mutationType: { fields: { name: string }[] } | null
        subscriptionType: { fields: { name: string }[] } | null
        types: {
          name: string
          fields: { name: string }[] | null
          inputFields: { name: string }[] | null
        }[]
      }
      const type = (name: string) => data.types.find((x) => x.name === name)
      return {
        text: JSON.stringify(data),
        queries: data.queryType.fields.map((f) => f.name).sort(),
        mutations: (data.mutationType?.fields ?? []).map((f) => f.name).sort(),
        // A type the schema lacks fails here, so a renamed type cannot make a check pass vacuously.
        fields: (name: string) => {
          const found = type(name)
          if (!found) throw new Error(`no type ${name} in the schema`)
          return (found.fields ?? found.inputFields ?? []).map((f) => f.name)
        },
      }
    }
    const anonymous = await schemaOf(null)
    expect(anonymous.queries).toEqual([
      'people',
      'peopleById',
      'posts',
      'postsById',
      'tickets',
      'ticketsById',
    ])
    expect(anonymous.mutations).toEqual([
      'authMfaVerifyStaff',
      'authMfaVerifySuperusers',
      'authMfaVerifyUsers',
      'authRefreshStaff',
      'authRefreshSuperusers',
      'authRefreshUsers',
      'authWithPasswordStaff',
      'authWithPasswordSuperusers',
      'authWithPasswordUsers',
      'createUsers',
    ])
    for (const hidden of ['Audit', 'Memo', 'Note', 'reviewNote', 'badge', 'draftNote']) {
      expect(anonymous.text, hidden).not.toContain(hidden)
    }
    // posts.author leads to staff, whom anonymous callers may not view: no relation field.
    expect(anonymous.fields('Post').sort()).toEqual(['created', 'id', 'title', 'updated'])
    expect(anonymous.fields('Staff').sort()).toEqual([
      'created',
      'email',
      'id',
      'updated',
      'verified',
    ])

    const alice = await schemaOf(tokens.alice)
    expect(alice.queries).toEqual([
      'notes',
      'notesById',
      'people',
      'peopleById',
      'posts',
      'postsById',
      'tickets',
      'ticketsById',
      'users',
      'usersById',
    ])
    expect(alice.mutations).toEqual(
      expect.arrayContaining(['createNotes', 'updateNotes', 'deleteNotes']),
    )
    expect(alice.fields('NoteCreateInput')).toContain('draftNote')
    expect(alice.fields('NoteCreateInput')).not.toContain('privateTag')
    expect(alice.fields('Note')).not.toContain('draftNote')
    expect(alice.fields('User')).toContain('notes_via_owner')
    expect(alice.text).not.toContain('Memo')
    // Asking for what is not in one's schema is a validation error, not data.
    const probe = await gql(t, '{ audit { totalItems } }', undefined, tokens.alice)
    expect(probe.errors?.[0]?.extensions.code).toBe('ER_GRAPHQL_INVALID')
    expect(probe.errors?.[0]?.message).not.toMatch(/Did you mean/)

    const sam = await schemaOf(tokens.sam)
    expect(sam.queries).toEqual([
      'memos',
      'memosById',
      'people',
      'peopleById',
      'posts',
      'postsById',
      'tickets',
      'ticketsById',
    ])
    const root = await schemaOf(t.token)
    expect(root.queries).toEqual(expect.arrayContaining(['audit', 'notes', 'staff', 'superusers']))
    expect(root.fields('Post')).toEqual(expect.arrayContaining(['reviewNote', 'author']))
  })

  it('never expands a relation through a hidden field for non-superusers', async () => {
    const get = (url: string, token?: string | null) =>
      t.call({
        method: 'GET',
        url,
        anonymous: token !== undefined,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })
    for (const url of [
      '/api/collections/tickets/records/t1?expand=assignee',
      '/api/collections/people/records/pat?expand=tickets_via_assignee',
    ]) {
      for (const token of [null, tokens.alice]) {
        const res = await get(url, token)
        expect(res.statusCode, url).toBe(400)
        expect(res.json()).toMatchObject({ code: 'ER_QUERY_INVALID' })
      }
      expect((await get(url)).statusCode, url).toBe(200)
    }
    const back = await get('/api/collections/people/records/pat?expand=tickets_via_assignee')
    expect(back.json().expand.tickets_via_assignee).toMatchObject([{ id: 't1' }])
    const people = dataOf(
      await gql(t, '{ __type(name: "Person") { fields { name } } }', undefined, null),
    ).__type as { fields: { name: string }[] }
    expect(people.fields.map((f) => f.name)).not.toContain('tickets_via_assignee')
  })

  it('follows a rule change at once, in both descriptions', async () => {
    expect((await documentFor(null)).text).not.toContain('audit')
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/audit',
      payload: { rules: { ...NONE, list: '' } },
    })
    expect(res.statusCode, res.body).toBe(200)
    const { doc } = await documentFor(null)
    expect(methods(doc, records('audit'))).toEqual(['get'])
    const schema = dataOf(
      await gql(t, '{ __schema { queryType { fields { name } } } }', undefined, null),
    )
    expect(JSON.stringify(schema)).toContain('"audit"')
  })
})
