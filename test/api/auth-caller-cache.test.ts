/**
 * Checked callers are kept for a moment (ER_AUTH_RECHECK_MS): a repeat caller costs no session
 * read, yet every change made through this engine (a role, a password, a log-out, a revoked
 * session) acts on the very next request, and a change made by another process within the
 * recheck interval.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../src/adapters/store/store.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const PASSWORD = 'a long enough password'

describe.each(await availableDialects())('checked callers on %s', (dialect) => {
  let t: TestEngine
  let sessionReads = 0
  let ann: Record<string, unknown>
  const others: Store[] = []

  const signIn = async (): Promise<{ token: string; sessionId: string }> => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: PASSWORD },
      anonymous: true,
    })
    expect(res.statusCode, res.body).toBe(200)
    const { token } = res.json() as { token: string }
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())
    return { token, sessionId: (claims as { sid: string }).sid }
  }
  const asAnn = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    t.call({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    })
  const ownRecord = (token: string) =>
    asAnn(token, 'GET', `/api/collections/users/records/${ann.id as string}`)

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      onQuery: (event) => {
        if (/^\s*select/i.test(event.sql) && event.sql.includes('"_auth_sessions"')) sessionReads++
      },
      // Long enough that only an invalidation, never the clock, can end an entry here.
      engine: { callerRecheckMs: 60_000 },
    })
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'role', type: 'select', values: ['member', 'admin'] }],
      rules: { view: 'id = @request.auth.id' },
    })
    await createCollection(t, {
      name: 'reports',
      fields: [{ name: 'title', type: 'text' }],
      rules: { create: '@request.auth.role = "admin"' },
    })
    ann = await createRecord(t, 'users', {
      email: 'ann@example.com',
      password: PASSWORD,
      role: 'member',
    })
  })
  afterEach(async () => {
    for (const store of others.splice(0)) await store.close()
  })
  afterAll(() => t.close())

  it('reads the session once, then answers a repeat caller from memory', async () => {
    const { token } = await signIn()
    const before = sessionReads
    for (let i = 0; i < 5; i++) expect((await ownRecord(token)).statusCode).toBe(200)
    expect(sessionReads - before).toBe(1)
  })

  it('shares one session read among the concurrent first requests of a caller', async () => {
    const { token } = await signIn()
    const before = sessionReads
    const answers = await Promise.all(Array.from({ length: 20 }, () => ownRecord(token)))
    expect(answers.map((res) => res.statusCode)).toEqual(Array(20).fill(200))
    expect(sessionReads - before).toBe(1)
  })

  it('acts on a role change through the API at the next request', async () => {
    const { token } = await signIn()
    const report = { title: 'quarterly' }
    expectProblem(
      await asAnn(token, 'POST', '/api/collections/reports/records', report),
      403,
      'ER_FORBIDDEN',
    )
    const promoted = await t.call({
      method: 'PATCH',
      url: `/api/collections/users/records/${ann.id as string}`,
      payload: { role: 'admin' },
    })
    expect(promoted.statusCode, promoted.body).toBe(200)
    const created = await asAnn(token, 'POST', '/api/collections/reports/records', report)
    expect(created.statusCode, created.body).toBe(201)
    await t.call({
      method: 'PATCH',
      url: `/api/collections/users/records/${ann.id as string}`,
      payload: { role: 'member' },
    })
    expectProblem(
      await asAnn(token, 'POST', '/api/collections/reports/records', report),
      403,
      'ER_FORBIDDEN',
    )
  })

  it('refuses a token at once after log-out, revocation or a password change', async () => {
    const first = await signIn()
    expect((await ownRecord(first.token)).statusCode).toBe(200)
    const out = await asAnn(first.token, 'POST', '/api/collections/users/auth/logout', {})
    expect(out.statusCode, out.body).toBeLessThan(300)
    expectProblem(await ownRecord(first.token), 401, 'ER_AUTH_TOKEN_INVALID')

    const second = await signIn()
    expect((await ownRecord(second.token)).statusCode).toBe(200)
    await t.engine.store.auth.revokeSessions({ id: second.sessionId }, new Date().toISOString())
    expectProblem(await ownRecord(second.token), 401, 'ER_AUTH_TOKEN_INVALID')

    const third = await signIn()
    expect((await ownRecord(third.token)).statusCode).toBe(200)
    const changed = await t.call({
      method: 'PATCH',
      url: `/api/collections/users/records/${ann.id as string}`,
      payload: { password: PASSWORD },
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expectProblem(await ownRecord(third.token), 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('serves the same identity object to repeat callers, frozen', async () => {
    const { token } = await signIn()
    const one = await t.engine.auth.identify(token)
    const two = await t.engine.auth.identify(token)
    expect(two).toBe(one)
    expect(Object.isFrozen(one) && Object.isFrozen(one.record)).toBe(true)
  })

  describe('a change made by another process', () => {
    let quick: TestEngine
    beforeAll(async () => {
      quick = await createTestEngine(dialect, { engine: { callerRecheckMs: 200 } })
      await createCollection(quick, { name: 'users', type: 'auth', fields: [] })
      await createRecord(quick, 'users', { email: 'ann@example.com', password: PASSWORD })
    })
    afterAll(() => quick.close())

    it('shows within the recheck interval', async () => {
      const signedIn = await quick.engine.auth.loginWithPassword('users', {
        identity: 'ann@example.com',
        password: PASSWORD,
      })
      if (!('token' in signedIn)) throw new Error('MFA is on')
      const sessions = () =>
        quick.call({
          method: 'GET',
          url: '/api/collections/users/auth/sessions',
          headers: { authorization: `Bearer ${signedIn.token}` },
        })
      expect((await sessions()).statusCode).toBe(200)
      // Another process revokes every session of the record, behind this engine's back.
      const other = await quick.openAnotherStore()
      others.push(other)
      const record = signedIn.record as { id: string }
      const users = quick.engine.registry.get('users')
      const revoked = await other.auth.revokeSessions(
        { collectionId: users.id, recordId: record.id },
        new Date().toISOString(),
      )
      expect(revoked).toHaveLength(1)
      await expect.poll(async () => (await sessions()).statusCode, { timeout: 5000 }).toBe(401)
    })
  })
})

describe('ER_AUTH_RECHECK_MS=0', () => {
  it('reads the session on every request', async () => {
    let reads = 0
    const t = await createTestEngine('sqlite', {
      onQuery: (event) => {
        if (/^\s*select/i.test(event.sql) && event.sql.includes('"_auth_sessions"')) reads++
      },
      engine: { callerRecheckMs: 0 },
    })
    try {
      const before = reads
      for (let i = 0; i < 3; i++) {
        expect((await t.call({ method: 'GET', url: '/api/collections' })).statusCode).toBe(200)
      }
      expect(reads - before).toBe(3)
    } finally {
      await t.close()
    }
  })
})
