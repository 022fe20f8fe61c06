/**
 * Access rules, tested the way an attacker would: every route (list, filter, sort, fields,
 * expand, view, create, update, delete, batch) against public, owner-only and role-based
 * collections, by anonymous callers, other users, and tokens of another auth collection. Every
 * refused write is followed by a look at the database: nothing may have changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

type Who = 'anon' | 'alice' | 'bob' | 'eddie' | 'staff' | 'root'
type Rec = Record<string, unknown>

interface Row {
  name: string
  who: Who
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  body?: object
  status: number
  code?: string
  /** Record ids (or strings) that must / must not appear anywhere in the response body. */
  must?: string[]
  mustNot?: string[]
  /** An error field the problem must name. */
  field?: string
}

const url = (name: string, id?: string, query?: Record<string, string>) =>
  `/api/collections/${name}/records${id ? `/${id}` : ''}${query ? `?${new URLSearchParams(query)}` : ''}`

/** Seeded ids: users, owner-only notes, public posts, role-based articles. */
const ID = {
  alice: 'ualice',
  bob: 'ubob',
  eddie: 'ueddie',
  aliceNote: 'naliceNote',
  bobNote: 'nbobNote',
  orphanNote: 'norphanNote',
  alicePost: 'palicePost',
  bobPost: 'pbobPost',
  article: 'aarticle',
}

const readRows: Row[] = [
  // owner-only notes: `owner = @request.auth.id`
  {
    name: 'anonymous list of owner-only notes is empty (not even the orphan)',
    who: 'anon',
    method: 'GET',
    url: url('notes'),
    status: 200,
    mustNot: [ID.aliceNote, ID.bobNote, ID.orphanNote],
  },
  {
    name: 'a user lists only their own notes',
    who: 'alice',
    method: 'GET',
    url: url('notes', undefined, { count: 'true' }),
    status: 200,
    must: [ID.aliceNote, '"totalItems":1'],
    mustNot: [ID.bobNote, ID.orphanNote],
  },
  {
    name: 'a client filter cannot widen the rule',
    who: 'alice',
    method: 'GET',
    url: url('notes', undefined, { filter: `owner = "${ID.bob}" || owner != ""` }),
    status: 200,
    mustNot: [ID.bobNote],
  },
  {
    name: "another user's note by id is 404",
    who: 'alice',
    method: 'GET',
    url: url('notes', ID.bobNote),
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
    mustNot: ['bob secret'],
  },
  {
    name: 'anonymous view of a note is 404',
    who: 'anon',
    method: 'GET',
    url: url('notes', ID.orphanNote),
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: 'own note is readable, hidden field stripped',
    who: 'alice',
    method: 'GET',
    url: url('notes', ID.aliceNote),
    status: 200,
    must: ['alice note'],
    mustNot: ['internal-alice'],
  },
  {
    name: 'filter on a hidden field is refused',
    who: 'alice',
    method: 'GET',
    url: url('notes', undefined, { filter: 'internal ~ "bob"' }),
    status: 400,
    code: 'ER_FILTER_UNKNOWN_FIELD',
  },
  {
    name: 'sort on a hidden field is refused',
    who: 'alice',
    method: 'GET',
    url: url('notes', undefined, { sort: 'internal' }),
    status: 400,
    code: 'ER_QUERY_INVALID',
  },
  {
    name: 'fields naming a hidden field are refused',
    who: 'alice',
    method: 'GET',
    url: url('notes', undefined, { fields: 'id,internal' }),
    status: 400,
    code: 'ER_QUERY_INVALID',
    field: 'fields',
  },
  // public posts whose author relation leads into users, which only lists oneself
  {
    name: 'public posts are readable anonymously',
    who: 'anon',
    method: 'GET',
    url: url('posts'),
    status: 200,
    must: [ID.alicePost, ID.bobPost],
  },
  {
    name: 'a filter cannot follow a relation into a collection the caller cannot list',
    who: 'alice',
    method: 'GET',
    url: url('posts', undefined, { filter: 'author.email = "bob@example.com"' }),
    status: 400,
    code: 'ER_FILTER_UNKNOWN_FIELD',
  },
  {
    name: 'nor reach it through @collection',
    who: 'alice',
    method: 'GET',
    url: url('posts', undefined, { filter: '@collection.notes.title ?~ "secret"' }),
    status: 400,
    code: 'ER_FILTER_UNKNOWN_FIELD',
  },
  {
    name: 'nor sort by its fields',
    who: 'alice',
    method: 'GET',
    url: url('posts', undefined, { sort: 'author.email' }),
    status: 400,
    code: 'ER_QUERY_INVALID',
  },
  {
    name: 'expand leaves out an author the caller may not view',
    who: 'alice',
    method: 'GET',
    url: url('posts', ID.bobPost, { expand: 'author' }),
    status: 200,
    must: [ID.bobPost],
    mustNot: ['bob@example.com', '"expand"'],
  },
  {
    name: 'expand includes what the view rule allows',
    who: 'alice',
    method: 'GET',
    url: url('posts', undefined, { expand: 'author', sort: 'id' }),
    status: 200,
    must: ['alice@example.com'],
    mustNot: ['bob@example.com', 'password', 'tokenKey'],
  },
  {
    name: 'back-relation expand obeys the notes rule',
    who: 'alice',
    method: 'GET',
    url: url('users', ID.alice, { expand: 'notes_via_owner' }),
    status: 200,
    must: [ID.aliceNote],
    mustNot: [ID.bobNote],
  },
  {
    name: 'anonymous expand of a public post shows no author',
    who: 'anon',
    method: 'GET',
    url: url('posts', undefined, { expand: 'author' }),
    status: 200,
    mustNot: ['@example.com'],
  },
  // users: `id = @request.auth.id`
  {
    name: 'anonymous list of users is empty',
    who: 'anon',
    method: 'GET',
    url: url('users'),
    status: 200,
    mustNot: ['@example.com'],
  },
  {
    name: 'a user lists only themself',
    who: 'alice',
    method: 'GET',
    url: url('users'),
    status: 200,
    must: ['alice@example.com'],
    mustNot: ['bob@example.com', 'password', 'tokenKey'],
  },
  {
    name: "another user's account is 404",
    who: 'alice',
    method: 'GET',
    url: url('users', ID.bob),
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  // superuser-only (rules null) stays 401 / 403
  {
    name: 'anonymous on a superuser-only collection is 401',
    who: 'anon',
    method: 'GET',
    url: url('_superusers'),
    status: 401,
    code: 'ER_AUTH_REQUIRED',
  },
  {
    name: 'a user on a superuser-only collection is 403',
    who: 'alice',
    method: 'GET',
    url: url('_superusers'),
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  // a token from another auth collection is just another identity
  {
    name: 'a staff token sees no user-owned notes',
    who: 'staff',
    method: 'GET',
    url: url('notes'),
    status: 200,
    mustNot: [ID.aliceNote, ID.bobNote, ID.orphanNote],
  },
  {
    name: 'rules can name the caller collection',
    who: 'staff',
    method: 'GET',
    url: url('staffdocs'),
    status: 200,
    must: ['sd1'],
  },
  {
    name: 'users do not pass a staff-only rule',
    who: 'alice',
    method: 'GET',
    url: url('staffdocs'),
    status: 200,
    mustNot: ['sd1'],
  },
  {
    name: 'superusers bypass rules',
    who: 'root',
    method: 'GET',
    url: url('notes', ID.bobNote),
    status: 200,
    must: ['internal-bob'],
  },
]

const writeRows: Row[] = [
  // owner-only notes
  {
    name: "update of another user's note is 404",
    who: 'alice',
    method: 'PATCH',
    url: url('notes', ID.bobNote),
    body: { title: 'pwned' },
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: "delete of another user's note is 404",
    who: 'alice',
    method: 'DELETE',
    url: url('notes', ID.bobNote),
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: 'anonymous update of an orphan note is 404',
    who: 'anon',
    method: 'PATCH',
    url: url('notes', ID.orphanNote),
    body: { title: 'pwned' },
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: 'a note cannot be created for someone else',
    who: 'alice',
    method: 'POST',
    url: url('notes'),
    body: { title: 'x', owner: ID.bob },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a note cannot be created without owner anonymously',
    who: 'anon',
    method: 'POST',
    url: url('notes'),
    body: { title: 'x' },
    status: 401,
    code: 'ER_AUTH_REQUIRED',
  },
  {
    name: 'an own note cannot be handed to another user',
    who: 'alice',
    method: 'PATCH',
    url: url('notes', ID.aliceNote),
    body: { owner: ID.bob },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a refused create does not reveal whether a related id exists',
    who: 'alice',
    method: 'POST',
    url: url('notes'),
    body: { title: 'x', owner: 'no-such-user' },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  // public posts: viewable, but only the author writes
  {
    name: "update of another user's visible post is 403",
    who: 'alice',
    method: 'PATCH',
    url: url('posts', ID.bobPost),
    body: { title: 'pwned' },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: "delete of another user's visible post is 403",
    who: 'alice',
    method: 'DELETE',
    url: url('posts', ID.bobPost),
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'anonymous update of a visible post is 401',
    who: 'anon',
    method: 'PATCH',
    url: url('posts', ID.bobPost),
    body: { title: 'pwned' },
    status: 401,
    code: 'ER_AUTH_REQUIRED',
  },
  {
    name: 'anonymous delete of a visible post is 401',
    who: 'anon',
    method: 'DELETE',
    url: url('posts', ID.bobPost),
    status: 401,
    code: 'ER_AUTH_REQUIRED',
  },
  {
    name: 'a post cannot be written in the name of another user',
    who: 'alice',
    method: 'POST',
    url: url('posts'),
    body: { title: 'x', author: ID.bob },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'anonymous cannot post',
    who: 'anon',
    method: 'POST',
    url: url('posts'),
    body: { title: 'x' },
    status: 401,
    code: 'ER_AUTH_REQUIRED',
  },
  // role-based articles: `@request.auth.role = "editor"`
  {
    name: 'a plain user cannot create an article',
    who: 'alice',
    method: 'POST',
    url: url('articles'),
    body: { title: 'x' },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a plain user cannot edit an article',
    who: 'alice',
    method: 'PATCH',
    url: url('articles', ID.article),
    body: { title: 'x' },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a plain user cannot delete an article',
    who: 'alice',
    method: 'DELETE',
    url: url('articles', ID.article),
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a staff token lacks the role field: refused',
    who: 'staff',
    method: 'PATCH',
    url: url('articles', ID.article),
    body: { title: 'x' },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  // users: escalation through writable fields
  {
    name: 'a user cannot promote themself',
    who: 'alice',
    method: 'PATCH',
    url: url('users', ID.alice),
    body: { role: 'editor' },
    status: 403,
    code: 'ER_FORBIDDEN',
    field: 'role',
  },
  {
    name: 'a user cannot verify themself',
    who: 'alice',
    method: 'PATCH',
    url: url('users', ID.alice),
    body: { verified: true },
    status: 403,
    code: 'ER_FORBIDDEN',
    field: 'verified',
  },
  {
    name: 'registration cannot choose a role',
    who: 'anon',
    method: 'POST',
    url: url('users'),
    body: { email: 'mallory@example.com', password: 'long enough pw', role: 'editor' },
    status: 403,
    code: 'ER_FORBIDDEN',
    field: 'role',
  },
  {
    name: 'registration cannot arrive verified',
    who: 'anon',
    method: 'POST',
    url: url('users'),
    body: { email: 'mallory@example.com', password: 'long enough pw', verified: true },
    status: 403,
    code: 'ER_FORBIDDEN',
    field: 'verified',
  },
  {
    name: 'registration refuses a password equal to the e-mail',
    who: 'anon',
    method: 'POST',
    url: url('users'),
    body: { email: 'mallory@example.com', password: 'Mallory@Example.com' },
    status: 400,
    code: 'ER_VALIDATION_FAILED',
    field: 'password',
  },
  {
    name: 'a password change to the e-mail is refused',
    who: 'alice',
    method: 'PATCH',
    url: url('users', ID.alice),
    body: { password: 'alice@example.com', oldPassword: 'alice password' },
    status: 400,
    code: 'ER_VALIDATION_FAILED',
    field: 'password',
  },
  {
    name: "a user cannot change another user's account",
    who: 'alice',
    method: 'PATCH',
    url: url('users', ID.bob),
    body: { password: 'taken over!!' },
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: "a user cannot delete another user's account",
    who: 'alice',
    method: 'DELETE',
    url: url('users', ID.bob),
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  // batch: the same rules per operation, all or nothing
  {
    name: 'a batch with one foreign update applies nothing (404, index 1)',
    who: 'alice',
    method: 'POST',
    url: '/api/batch',
    body: {
      requests: [
        {
          method: 'POST',
          url: url('notes'),
          body: { id: 'nbatch', title: 'mine', owner: ID.alice },
        },
        { method: 'PATCH', url: url('notes', ID.bobNote), body: { title: 'pwned' } },
      ],
    },
    status: 404,
    code: 'ER_RECORD_NOT_FOUND',
  },
  {
    name: "a batch deleting another user's post is 403 and applies nothing",
    who: 'alice',
    method: 'POST',
    url: '/api/batch',
    body: {
      requests: [
        { method: 'PATCH', url: url('posts', ID.alicePost), body: { title: 'edited' } },
        { method: 'DELETE', url: url('posts', ID.bobPost) },
      ],
    },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
  {
    name: 'a batch cannot escalate either',
    who: 'alice',
    method: 'POST',
    url: '/api/batch',
    body: {
      requests: [{ method: 'PATCH', url: url('users', ID.alice), body: { role: 'editor' } }],
    },
    status: 403,
    code: 'ER_FORBIDDEN',
  },
]

describe.each(dialects)('access rules on %s', (dialect) => {
  let t: TestEngine
  const tokens = new Map<Who, string>()

  const as = (who: Who, options: { method: Row['method']; url: string; body?: object }) =>
    t.call({
      method: options.method,
      url: options.url,
      ...(options.body ? { payload: options.body } : {}),
      ...(who === 'anon'
        ? { anonymous: true }
        : who === 'root'
          ? {}
          : { headers: { authorization: `Bearer ${tokens.get(who)}` } }),
    })

  /** Every record of every collection, as a superuser sees them (hidden fields included). */
  async function snapshot(): Promise<string> {
    const out: Record<string, unknown> = {}
    for (const name of ['users', 'notes', 'posts', 'articles', 'staff', 'staffdocs']) {
      const res = await t.call({
        method: 'GET',
        url: url(name, undefined, { sort: 'id', perPage: '500' }),
      })
      out[name] = (res.json() as { items: unknown[] }).items
    }
    return JSON.stringify(out)
  }

  async function login(collection: string, email: string, password: string): Promise<string> {
    const res = await t.call({
      method: 'POST',
      url: `/api/collections/${collection}/auth/password`,
      anonymous: true,
      payload: { identity: email, password },
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { token: string }).token
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    const owner = 'id = @request.auth.id'
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [
        { name: 'name', type: 'text' },
        {
          name: 'role',
          type: 'select',
          values: ['user', 'editor'],
          default: 'user',
          protected: true,
        },
      ],
      rules: { list: owner, view: owner, create: '', update: owner, delete: owner },
    })
    await createCollection(t, {
      name: 'staff',
      type: 'auth',
      fields: [],
      rules: { list: null, view: null, create: null, update: null, delete: null },
    })
    const noteOwner = 'owner = @request.auth.id'
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users', onDelete: 'cascade' },
        { name: 'internal', type: 'text', hidden: true },
      ],
      rules: {
        list: noteOwner,
        view: noteOwner,
        create: '@request.body.owner = @request.auth.id',
        update: noteOwner,
        delete: noteOwner,
      },
    })
    const author = 'author = @request.auth.id'
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'users' },
      ],
      rules: {
        list: '',
        view: '',
        create: '@request.auth.id != "" && @request.body.author = @request.auth.id',
        update: author,
        delete: author,
      },
    })
    const editor = '@request.auth.role = "editor"'
    await createCollection(t, {
      name: 'articles',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: editor, update: editor, delete: editor },
    })
    await createCollection(t, {
      name: 'staffdocs',
      fields: [{ name: 'title', type: 'text' }],
      rules: {
        list: '@request.auth.collectionName = "staff"',
        view: null,
        create: null,
        update: null,
        delete: null,
      },
    })
    const root = (name: string, body: object) =>
      t.call({ method: 'POST', url: url(name), payload: body })
    for (const [who, role] of [
      ['alice', 'user'],
      ['bob', 'user'],
      ['eddie', 'editor'],
    ] as const) {
      const res = await root('users', {
        id: ID[who],
        email: `${who}@example.com`,
        password: `${who} password`,
        role,
        name: who,
      })
      expect(res.statusCode, res.body).toBe(201)
      tokens.set(who, await login('users', `${who}@example.com`, `${who} password`))
    }
    expect(
      (await root('staff', { email: 'staff@example.com', password: 'staff password' })).statusCode,
    ).toBe(201)
    tokens.set('staff', await login('staff', 'staff@example.com', 'staff password'))
    for (const body of [
      { id: ID.aliceNote, title: 'alice note', owner: ID.alice, internal: 'internal-alice' },
      { id: ID.bobNote, title: 'bob secret', owner: ID.bob, internal: 'internal-bob' },
      { id: ID.orphanNote, title: 'orphan', internal: 'internal-orphan' },
    ])
      expect((await root('notes', body)).statusCode).toBe(201)
    expect(
      (await root('posts', { id: ID.alicePost, title: 'by alice', author: ID.alice })).statusCode,
    ).toBe(201)
    expect(
      (await root('posts', { id: ID.bobPost, title: 'by bob', author: ID.bob })).statusCode,
    ).toBe(201)
    expect((await root('articles', { id: ID.article, title: 'news' })).statusCode).toBe(201)
    expect((await root('staffdocs', { id: 'sd1', title: 'handbook' })).statusCode).toBe(201)
  })
  afterAll(async () => {
    await t.close()
  })

  function check(row: Row, res: Awaited<ReturnType<typeof as>>): void {
    if (row.code) {
      const problem = expectProblem(res, row.status, row.code)
      if (row.field) expect(problem.errors, res.body).toHaveProperty([row.field])
    } else {
      expect(res.statusCode, res.body).toBe(row.status)
    }
    for (const text of row.must ?? []) expect(res.body).toContain(text)
    for (const text of row.mustNot ?? []) expect(res.body).not.toContain(text)
  }

  it.each(readRows)('$who: $name → $status', async (row) => {
    check(row, await as(row.who, row))
  })

  it.each(writeRows)('$who: $name → $status, and nothing changes', async (row) => {
    const before = await snapshot()
    check(row, await as(row.who, row))
    expect(await snapshot()).toBe(before)
  })

  it('lets the owner and the role do what the rules grant', async () => {
    const patch = await as('alice', {
      method: 'PATCH',
      url: url('notes', ID.aliceNote),
      body: { title: 'alice edited' },
    })
    expect(patch.statusCode, patch.body).toBe(200)
    expect(patch.body).not.toContain('internal-alice')
    const same = await as('alice', {
      method: 'PATCH',
      url: url('users', ID.alice),
      body: { name: 'Alice', role: 'user', verified: false },
    })
    expect(same.statusCode, same.body).toBe(200)
    const article = await as('eddie', {
      method: 'PATCH',
      url: url('articles', ID.article),
      body: { title: 'edited' },
    })
    expect(article.statusCode, article.body).toBe(200)
    const created = await as('eddie', {
      method: 'POST',
      url: url('articles'),
      body: { id: 'aeddie', title: 'new' },
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(
      (await as('eddie', { method: 'DELETE', url: url('articles', 'aeddie') })).statusCode,
    ).toBe(204)
    const post = await as('alice', {
      method: 'POST',
      url: url('posts'),
      body: { id: 'palice2', title: 'mine', author: ID.alice },
    })
    expect(post.statusCode, post.body).toBe(201)
    expect((await as('alice', { method: 'DELETE', url: url('posts', 'palice2') })).statusCode).toBe(
      204,
    )
  })

  it('registers a user through the create rule, unverified with the default role, and lets them sign in', async () => {
    const res = await as('anon', {
      method: 'POST',
      url: url('users'),
      body: { email: 'Newbie@Example.com', password: 'newbie password', name: 'New' },
    })
    expect(res.statusCode, res.body).toBe(201)
    const user = res.json() as Rec
    expect(user).toMatchObject({ email: 'newbie@example.com', verified: false, role: 'user' })
    expect(res.body).not.toContain('password')
    expect(res.body).not.toContain('tokenKey')
    const token = await login('users', 'newbie@example.com', 'newbie password')
    const own = await t.call({
      method: 'GET',
      url: url('users'),
      headers: { authorization: `Bearer ${token}` },
    })
    expect((own.json() as { items: Rec[] }).items.map((u) => u.id)).toEqual([user.id])
  })

  it('keeps cursors and counts within the rule', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await as('bob', {
        method: 'POST',
        url: url('notes'),
        body: { title: `bob ${i}`, owner: ID.bob },
      })
      expect(res.statusCode, res.body).toBe(201)
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const res = await as('bob', {
        method: 'GET',
        url: url('notes', undefined, {
          perPage: '2',
          count: 'true',
          ...(cursor ? { cursor } : {}),
        }),
      })
      const page = res.json() as { items: Rec[]; nextCursor: string | null; totalItems: number }
      expect(page.totalItems).toBe(6)
      seen.push(...page.items.map((n) => n.owner as string))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(6)
    expect(new Set(seen)).toEqual(new Set([ID.bob]))
    // Bob's cursor in Alice's hands still only pages through Alice's notes.
    const first = (
      await as('bob', { method: 'GET', url: url('notes', undefined, { perPage: '1' }) })
    ).json() as { nextCursor: string }
    const stolen = await as('alice', {
      method: 'GET',
      url: url('notes', undefined, { perPage: '1', cursor: first.nextCursor }),
    })
    expect(stolen.statusCode, stolen.body).toBe(200)
    expect(stolen.body).not.toContain(ID.bob)
  })

  it('shows create rules the body as sent, without defaults', async () => {
    await createCollection(t, {
      name: 'flags',
      fields: [{ name: 'level', type: 'text', default: 'low' }],
      rules: {
        list: null,
        view: null,
        create: '@request.body.level:isset = false',
        update: null,
        delete: null,
      },
    })
    const plain = await as('alice', { method: 'POST', url: url('flags'), body: {} })
    expect(plain.statusCode, plain.body).toBe(201)
    expect(plain.json()).toMatchObject({ level: 'low' })
    const before = await t.call({ method: 'GET', url: url('flags', undefined, { count: 'true' }) })
    expectProblem(
      await as('alice', { method: 'POST', url: url('flags'), body: { level: 'high' } }),
      403,
      'ER_FORBIDDEN',
    )
    const after = await t.call({ method: 'GET', url: url('flags', undefined, { count: 'true' }) })
    expect(after.json().totalItems).toBe(before.json().totalItems)
  })

  it('validates the protected option at schema save', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: { name: 'bad', fields: [{ name: 'x', type: 'text', protected: 'yes' }] },
    })
    const problem = expectProblem(res, 400, 'ER_SCHEMA_INVALID')
    expect(problem.errors).toHaveProperty(['fields.0.protected'])
  })
})
