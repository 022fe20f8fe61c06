/**
 * A caller is its auth collection AND its id. Two auth collections can hold the same id (one
 * created before ids were checked across collections, or by a superuser's import), so every
 * rule that compares `@request.auth.id` with a relation or an `id` must also compare the
 * collection. The attacker here signs up to a second auth collection under a victim's id, which
 * is visible in any public relation, and tries every door: list, view, filter, update, delete,
 * create in the victim's name, the victim's own account, a multi-relation rule, `@collection`
 * joins and the realtime check. Then the other door: the same sign-up through the API is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

const OWNER_RULES = {
  list: 'owner = @request.auth.id',
  view: 'owner = @request.auth.id',
  create: '@request.body.owner = @request.auth.id',
  update: 'owner = @request.auth.id',
  delete: 'owner = @request.auth.id',
}
const SELF_RULES = {
  list: 'id = @request.auth.id',
  view: 'id = @request.auth.id',
  create: '',
  update: 'id = @request.auth.id',
  delete: 'id = @request.auth.id',
}

describe.each(dialects)('identity across auth collections (%s)', (dialect) => {
  let t: TestEngine
  let alice: string // the victim's token (users)
  let mallory: string // the attacker's token (members, same id as alice)

  const as = (token: string | undefined) =>
    token ? { authorization: `Bearer ${token}` } : undefined
  const call = (
    token: string | undefined,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    t.call({
      method,
      url,
      ...(payload ? { payload } : {}),
      ...(token ? { headers: as(token) } : { anonymous: true }),
    })

  async function signIn(collection: string, email: string): Promise<string> {
    const res = await t.call({
      method: 'POST',
      url: `/api/collections/${collection}/auth/password`,
      anonymous: true,
      payload: { identity: email, password: 'a long passphrase' },
    })
    expect(res.statusCode, res.body).toBe(200)
    return (res.json() as { token: string }).token
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'nick', type: 'text' }],
      rules: SELF_RULES,
    })
    await createCollection(t, {
      name: 'members',
      type: 'auth',
      fields: [],
      rules: SELF_RULES,
    })
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: OWNER_RULES,
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'author', type: 'relation', collection: 'users' },
      ],
      rules: { list: '', view: '', create: null, update: null, delete: null },
    })
    await createCollection(t, {
      name: 'teams',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'editors', type: 'relation', collection: 'users', maxSelect: 10 },
      ],
      rules: {
        list: 'editors ?= @request.auth.id',
        view: 'editors ?= @request.auth.id',
        create: null,
        update: 'editors ?= @request.auth.id',
        delete: null,
      },
    })
    await createCollection(t, {
      name: 'grants',
      fields: [
        { name: 'user', type: 'relation', collection: 'users' },
        { name: 'label', type: 'text' },
      ],
      rules: { list: null, view: null, create: null, update: null, delete: null },
    })
    await createCollection(t, {
      name: 'vault',
      fields: [{ name: 'secret', type: 'text' }],
      rules: {
        list: '@collection.grants.user ?= @request.auth.id',
        view: '@collection.grants.user ?= @request.auth.id',
        create: null,
        update: null,
        delete: null,
      },
    })
    await createRecord(t, 'users', {
      id: 'ualice',
      email: 'alice@example.com',
      password: 'a long passphrase',
    })
    await createRecord(t, 'notes', { id: 'naliceNote', text: 'alice secret', owner: 'ualice' })
    await createRecord(t, 'posts', { id: 'palice', title: 'public', author: 'ualice' })
    await createRecord(t, 'teams', { id: 'tteam', name: 'core', editors: ['ualice'] })
    await createRecord(t, 'grants', { user: 'ualice', label: 'vault access' })
    await createRecord(t, 'vault', { id: 'vgold', secret: 'the gold' })
    // The attacker's account: a `members` record with alice's id, written straight to the
    // store as a database from before the cross-collection check (or an import) would have it.
    const now = new Date().toISOString()
    await t.engine.store.insertRecord(t.engine.registry.get('members'), {
      id: 'ualice',
      email: 'mallory@example.com',
      password: await testPasswords.hash('a long passphrase'),
      tokenKey: 'mallory-token-key-0123456789abcdef',
      verified: false,
      created: now,
      updated: now,
    })
    alice = await signIn('users', 'alice@example.com')
    mallory = await signIn('members', 'mallory@example.com')
  })
  afterAll(() => t?.close())

  it('the victim sees her own records (the rules work)', async () => {
    const notes = await call(alice, 'GET', '/api/collections/notes/records')
    expect(notes.json().items.map((r: { id: string }) => r.id)).toEqual(['naliceNote'])
    expect((await call(alice, 'GET', '/api/collections/users/records/ualice')).statusCode).toBe(200)
    expect((await call(alice, 'GET', '/api/collections/vault/records/vgold')).statusCode).toBe(200)
  })

  it('a same-id caller of another collection lists, views and filters nothing of hers', async () => {
    const list = await call(mallory, 'GET', '/api/collections/notes/records?count=true')
    expect(list.statusCode).toBe(200)
    expect(list.json()).toMatchObject({ items: [], totalItems: 0 })
    expect(list.body).not.toContain('alice secret')
    expectProblem(
      await call(mallory, 'GET', '/api/collections/notes/records/naliceNote'),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expect((await call(mallory, 'GET', '/api/collections/teams/records')).json().items).toEqual([])
    expect((await call(mallory, 'GET', '/api/collections/vault/records')).json().items).toEqual([])
    expectProblem(
      await call(mallory, 'GET', '/api/collections/vault/records/vgold'),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    // Her own filter on a public collection: the post is not "hers", and it is "not hers".
    const mine = await call(
      mallory,
      'GET',
      `/api/collections/posts/records?filter=${encodeURIComponent('author = @request.auth.id')}`,
    )
    expect(mine.json().items).toEqual([])
    const notMine = await call(
      mallory,
      'GET',
      `/api/collections/posts/records?filter=${encodeURIComponent('author != @request.auth.id')}`,
    )
    expect(notMine.json().items.map((r: { id: string }) => r.id)).toEqual(['palice'])
  })

  it("cannot read or change the victim's account", async () => {
    expectProblem(
      await call(mallory, 'GET', '/api/collections/users/records/ualice'),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expectProblem(
      await call(mallory, 'PATCH', '/api/collections/users/records/ualice', {
        password: 'taken over now',
      }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expect(await signIn('users', 'alice@example.com')).toBeTruthy()
  })

  it("cannot change, delete or create in the victim's name, and nothing changes", async () => {
    expectProblem(
      await call(mallory, 'PATCH', '/api/collections/notes/records/naliceNote', { text: 'x' }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expectProblem(
      await call(mallory, 'DELETE', '/api/collections/notes/records/naliceNote'),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expectProblem(
      await call(mallory, 'PATCH', '/api/collections/teams/records/tteam', { name: 'owned' }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expectProblem(
      await call(mallory, 'POST', '/api/collections/notes/records', {
        text: 'planted',
        owner: 'ualice',
      }),
      403,
      'ER_FORBIDDEN',
    )
    const notes = await t.call({ method: 'GET', url: '/api/collections/notes/records' })
    expect(notes.json().items).toEqual([
      expect.objectContaining({ id: 'naliceNote', text: 'alice secret' }),
    ])
    const team = await t.call({ method: 'GET', url: '/api/collections/teams/records/tteam' })
    expect(team.json().name).toBe('core')
  })

  it('still reaches its own record in its own collection', async () => {
    const own = await call(mallory, 'GET', '/api/collections/members/records/ualice')
    expect(own.statusCode, own.body).toBe(200)
    expect(own.json().email).toBe('mallory@example.com')
  })

  it('the realtime check sees none of her records for the attacker', async () => {
    const identity = await t.engine.auth.identify(mallory)
    const ctx = { auth: identity, requestId: 'test', query: {} }
    const [note] = await t.engine.store.selectByIds(t.engine.registry.get('notes'), ['naliceNote'])
    const passed = await t.engine.records.visibleSnapshots(ctx, 'notes', [note!])
    expect([...passed]).toEqual([])
    const aliceCtx = { auth: await t.engine.auth.identify(alice), requestId: 'test', query: {} }
    expect([...(await t.engine.records.visibleSnapshots(aliceCtx, 'notes', [note!]))]).toEqual([0])
  })

  it('signing up under an id another auth collection has is refused, both ways', async () => {
    const taken = await call(undefined, 'POST', '/api/collections/members/records', {
      id: 'ualice',
      email: 'eve@example.com',
      password: 'a long passphrase',
    })
    expectProblem(taken, 409, 'ER_RECORD_CONFLICT')
    await createRecord(t, 'members', {
      id: 'mbob',
      email: 'bob@example.com',
      password: 'a long passphrase',
    })
    const reverse = await call(undefined, 'POST', '/api/collections/users/records', {
      id: 'mbob',
      email: 'bob2@example.com',
      password: 'a long passphrase',
    })
    expectProblem(reverse, 409, 'ER_RECORD_CONFLICT')
    // Nothing was written by the refused sign-ups.
    const members = await t.call({ method: 'GET', url: '/api/collections/members/records' })
    expect(
      members
        .json()
        .items.map((r: { email: string }) => r.email)
        .sort(),
    ).toEqual(['bob@example.com', 'mallory@example.com'])
  })
})
