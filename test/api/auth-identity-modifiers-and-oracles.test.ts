/**
 * Review of issue 11 item 1 and 14 (lead's fixes at d319e18): the edges of "a caller is its
 * collection and its id". Each test fails on d319e18; see the review report.
 *
 * - `#withCallerIdentity` (compile-filter.ts) leaves any comparison with a modifier alone, so
 *   `owner:lower = @request.auth.id` (ids are lower case) still matches a same-id caller of
 *   another auth collection. Same-id accounts still exist: databases from before the fix, and
 *   `engineroom import`, which does not check ids across auth collections.
 * - `checkAuthIdFree` runs before the create rule is checked, so a caller the rule refuses
 *   learns from 409-versus-401 whether an id belongs to a record of any auth collection,
 *   `_superusers` included, without creating anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long passphrase'

describe.each(dialects)('review: identity edges (%s)', (dialect) => {
  let t: TestEngine
  let mallory: string

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    const self = {
      list: 'id = @request.auth.id',
      view: 'id = @request.auth.id',
      create: '@request.auth.id != ""',
      update: null,
      delete: null,
    }
    await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: self })
    await createCollection(t, { name: 'members', type: 'auth', fields: [], rules: self })
    await createCollection(t, {
      name: 'diary',
      fields: [
        { name: 'text', type: 'text' },
        { name: 'owner', type: 'relation', collection: 'users' },
      ],
      rules: {
        list: 'owner:lower = @request.auth.id',
        view: 'owner:lower = @request.auth.id',
        create: null,
        update: null,
        delete: null,
      },
    })
    const alice = await createRecord(t, 'users', { email: 'alice@example.com', password: PASSWORD })
    await createRecord(t, 'diary', { id: 'dsecret', text: 'dear diary', owner: alice.id })
    // A same-id account in another auth collection, as a database from before the
    // cross-collection check (or an `engineroom import`) has it.
    const now = new Date().toISOString()
    await t.engine.store.insertRecord(t.engine.registry.get('members'), {
      id: alice.id,
      email: 'mallory@example.com',
      password: await testPasswords.hash(PASSWORD),
      tokenKey: 'mallory-token-key-0123456789abcdef',
      verified: false,
      created: now,
      updated: now,
    })
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/members/auth/password',
      anonymous: true,
      payload: { identity: 'mallory@example.com', password: PASSWORD },
    })
    mallory = (res.json() as { token: string }).token
  })
  afterAll(() => t?.close())

  it('a modifier on the relation does not make a same-id caller the owner', async () => {
    const list = await t.call({
      method: 'GET',
      url: '/api/collections/diary/records',
      headers: { authorization: `Bearer ${mallory}` },
    })
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toContain('dear diary')
  })

  it('a caller the create rule refuses learns nothing about ids of other auth collections', async () => {
    const superusers = await t.call({ method: 'GET', url: '/api/collections/_superusers/records' })
    const rootId = (superusers.json() as { items: { id: string }[] }).items[0]?.id as string
    const signUp = (id: string, n: number) =>
      t.call({
        method: 'POST',
        url: '/api/collections/members/records',
        anonymous: true,
        payload: { id, email: `probe${n}@example.com`, password: PASSWORD },
      })
    const taken = await signUp(rootId, 1)
    const free = await signUp('nobodyhasthisid', 2)
    expect(free.statusCode).toBe(401)
    expect(taken.statusCode, taken.body).toBe(free.statusCode)
  })
})
