/**
 * Credentials change under stricter terms than other fields: a non-superuser proves the current
 * password to set a new one (throttled like sign-in), changes e-mail only through the mailed
 * flow, and a password change ends the account's API keys. An API key changes no credential.
 * Batches hash passwords before their transaction, and a non-superuser's batch sets at most five.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'
import type { PasswordHasher } from '../../src/services/auth/password-hasher.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'

describe.each(dialects)('credential changes on %s', (dialect) => {
  let t: TestEngine
  /**
   * Whether the caller of the hasher runs inside one of the store's transactions: tracked per
   * async context, so the engine's own background work (job and webhook feeders) never counts.
   */
  const inTransaction = new AsyncLocalStorage<boolean>()
  const hashedInsideTransaction: string[] = []
  const watchedHasher: PasswordHasher = {
    async hash(plain) {
      if (inTransaction.getStore()) hashedInsideTransaction.push('hash')
      return testPasswords.hash(plain)
    },
    async verify(hash, plain) {
      if (inTransaction.getStore()) hashedInsideTransaction.push('verify')
      return testPasswords.verify(hash, plain)
    },
  }

  const users = (id?: string) => `/api/collections/users/records${id ? `/${id}` : ''}`
  const login = (email: string, password = PASSWORD) =>
    t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: email, password },
    })
  async function signUp(email: string): Promise<{ id: string; token: string }> {
    const record = await createRecord(t, 'users', { email, password: PASSWORD })
    const res = await login(email)
    expect(res.statusCode, res.body).toBe(200)
    return { id: record.id as string, token: (res.json() as { token: string }).token }
  }
  const patch = (token: string, id: string, payload: object) =>
    t.app.inject({
      method: 'PATCH',
      url: users(id),
      payload,
      headers: { authorization: `Bearer ${token}` },
    })
  const stored = async (id: string) =>
    (await t.call({ method: 'GET', url: users(id) })).json() as Record<string, unknown>

  beforeAll(async () => {
    t = await createTestEngine(dialect, { engine: { passwords: watchedHasher } })
    const store = t.engine.store
    const transaction = store.transaction.bind(store)
    store.transaction = (work) => transaction((tx) => inTransaction.run(true, () => work(tx)))
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: {
        list: 'id = @request.auth.id',
        view: 'id = @request.auth.id',
        create: '',
        update: 'id = @request.auth.id',
        delete: null,
      },
    })
  })
  afterAll(() => t?.close())

  it('a new password needs the current one; without it, or wrong, nothing changes', async () => {
    const ann = await signUp('ann@example.com')
    const missing = expectProblem(
      await patch(ann.token, ann.id, { password: 'a brand new password' }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expect(Object.keys(missing.errors ?? {})).toEqual(['oldPassword'])
    const wrong = expectProblem(
      await patch(ann.token, ann.id, {
        password: 'a brand new password',
        oldPassword: 'not the password',
      }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    expect(Object.keys(wrong.errors ?? {})).toEqual(['oldPassword'])
    expect((await login('ann@example.com')).statusCode).toBe(200)
    const changed = await patch(ann.token, ann.id, {
      password: 'a brand new password',
      oldPassword: PASSWORD,
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expectProblem(await login('ann@example.com'), 400, 'ER_AUTH_INVALID_CREDENTIALS')
    const again = await login('ann@example.com', 'a brand new password')
    expect(again.statusCode).toBe(200)
    // The change ended the sessions signed in with the old password.
    expectProblem(await patch(ann.token, ann.id, { name: 'Ann' }), 401, 'ER_AUTH_TOKEN_INVALID')
    // Sent without a new password, oldPassword is a mistake, not ignored.
    expectProblem(
      await patch((again.json() as { token: string }).token, ann.id, { oldPassword: PASSWORD }),
      400,
      'ER_VALIDATION_FAILED',
    )
  })

  it('guessing the current password is throttled with sign-in failures', async () => {
    const bo = await signUp('bo@example.com')
    let wrongAnswers = 0
    while (wrongAnswers < 6) {
      const res = await patch(bo.token, bo.id, {
        password: 'hijacked password',
        oldPassword: 'guess',
      })
      if (res.statusCode === 429) break
      expectProblem(res, 400, 'ER_AUTH_INVALID_CREDENTIALS')
      wrongAnswers++
    }
    expect(wrongAnswers).toBe(5)
    // The account is locked for sign-in too: the same secret, the same budget.
    expectProblem(await login('bo@example.com'), 429, 'ER_AUTH_THROTTLED')
    expectProblem(
      await patch(bo.token, bo.id, { password: 'hijacked password', oldPassword: PASSWORD }),
      429,
      'ER_AUTH_THROTTLED',
    )
  })

  it('a caller who cannot see the record learns nothing from a password guess', async () => {
    const cy = await signUp('cy@example.com')
    const dee = await signUp('dee@example.com')
    for (const oldPassword of [PASSWORD, 'wrong guess']) {
      expectProblem(
        await patch(cy.token, dee.id, { password: 'hijacked password', oldPassword }),
        404,
        'ER_RECORD_NOT_FOUND',
      )
    }
    expect((await login('dee@example.com')).statusCode).toBe(200)
  })

  it('a superuser sets a password without the old one', async () => {
    const eli = await signUp('eli@example.com')
    const res = await t.call({
      method: 'PATCH',
      url: users(eli.id),
      payload: { password: 'set by an admin!' },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect((await login('eli@example.com', 'set by an admin!')).statusCode).toBe(200)
  })

  it('e-mail changes go through the mailed flow; a superuser change clears verified', async () => {
    const fay = await signUp('fay@example.com')
    await t.call({ method: 'PATCH', url: users(fay.id), payload: { verified: true } })
    const refused = expectProblem(
      await patch(fay.token, fay.id, { email: 'someone-else@example.com' }),
      403,
      'ER_FORBIDDEN',
    )
    expect(refused.errors?.email?.[0]?.code).toBe('email_change_flow')
    expect(refused.detail).toContain('request-email-change')
    expect(await stored(fay.id)).toMatchObject({ email: 'fay@example.com', verified: true })
    // Sending the stored address back with other fields is no change.
    const same = await patch(fay.token, fay.id, { email: 'FAY@example.com', name: 'Fay' })
    expect(same.statusCode, same.body).toBe(200)
    expect(await stored(fay.id)).toMatchObject({ name: 'Fay', verified: true })

    const bySuperuser = await t.call({
      method: 'PATCH',
      url: users(fay.id),
      payload: { email: 'fay2@example.com' },
    })
    expect(bySuperuser.statusCode, bySuperuser.body).toBe(200)
    expect(await stored(fay.id)).toMatchObject({ email: 'fay2@example.com', verified: false })
    await t.call({
      method: 'PATCH',
      url: users(fay.id),
      payload: { email: 'fay3@example.com', verified: true },
    })
    expect(await stored(fay.id)).toMatchObject({ email: 'fay3@example.com', verified: true })
  })

  it("a password change revokes the account's API keys; a key changes no credential", async () => {
    const gus = await signUp('gus@example.com')
    const keys = (token: string) =>
      t.app.inject({
        method: 'GET',
        url: '/api/collections/users/auth/api-keys',
        headers: { authorization: `Bearer ${token}` },
      })
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/api-keys',
      headers: { authorization: `Bearer ${gus.token}` },
      payload: { name: 'sync', scopes: [{ collection: 'users', operations: ['view', 'update'] }] },
    })
    expect(made.statusCode, made.body).toBe(201)
    const { key } = made.json() as { key: string }
    const byKey = expectProblem(
      await patch(key, gus.id, { password: 'set by the key!', oldPassword: PASSWORD }),
      403,
      'ER_FORBIDDEN',
    )
    expect(Object.keys(byKey.errors ?? {})).toEqual(['password'])
    expect((await patch(key, gus.id, { name: 'Gus' })).statusCode).toBe(200)

    const changed = await patch(gus.token, gus.id, {
      password: 'a brand new password',
      oldPassword: PASSWORD,
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expectProblem(await patch(key, gus.id, { name: 'still here?' }), 401, 'ER_AUTH_TOKEN_INVALID')
    const signedIn = (await login('gus@example.com', 'a brand new password')).json() as {
      token: string
    }
    expect((await keys(signedIn.token)).json()).toMatchObject({
      items: [{ name: 'sync', revoked: expect.any(String) }],
    })
  })

  it('a batch hashes before its transaction, and bounds the passwords a non-superuser sets', async () => {
    hashedInsideTransaction.length = 0
    const signUps = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({
        method: 'POST',
        url: users(),
        body: { email: `${prefix}${i}@example.com`, password: PASSWORD },
      }))
    const tooMany = await t.app.inject({
      method: 'POST',
      url: '/api/batch',
      payload: { requests: signUps(6, 'many') },
    })
    const problem = expectProblem(tooMany, 400, 'ER_VALIDATION_FAILED')
    expect(problem.errors?.password?.[0]?.code).toBe('request_limit')
    expect(problem.index).toBe(5)
    const five = await t.app.inject({
      method: 'POST',
      url: '/api/batch',
      payload: { requests: signUps(5, 'five') },
    })
    expect(five.statusCode, five.body).toBe(200)
    // A superuser's batch is not bounded this way (its own budget is the request limit).
    const admin = await t.call({
      method: 'POST',
      url: '/api/batch',
      payload: { requests: signUps(8, 'admin') },
    })
    expect(admin.statusCode, admin.body).toBe(200)
    const all = await t.call({ method: 'GET', url: `${users()}?perPage=500` })
    const emails = (all.json() as { items: { email: string }[] }).items.map((r) => r.email)
    expect(emails.filter((e) => e.startsWith('many'))).toEqual([])
    expect(emails.filter((e) => e.startsWith('five'))).toHaveLength(5)
    expect(emails.filter((e) => e.startsWith('admin'))).toHaveLength(8)
    expect(hashedInsideTransaction).toEqual([])
  })
})
