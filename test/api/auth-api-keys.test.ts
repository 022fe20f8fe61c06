import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'

describe.each(dialects)('API keys on %s', (dialect) => {
  let t: TestEngine
  let userToken: string
  const keys = (collection = '_superusers') => `/api/collections/${collection}/auth/api-keys`
  const withKey = (
    key: string,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload ? { payload } : {}),
    })
  const newKey = async (body: object, collection = '_superusers', token = t.token) => {
    const res = await t.app.inject({
      method: 'POST',
      url: keys(collection),
      payload: body,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json() as { id: string; key: string; scopes: unknown; expires: string }
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'posts', fields: [{ name: 'title', type: 'text' }] })
    await createCollection(t, { name: 'secrets', fields: [{ name: 'value', type: 'text' }] })
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
    await createRecord(t, 'posts', { id: 'p1', title: 'Hello' })
    await createRecord(t, 'secrets', { id: 's1', value: 'hidden' })
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: PASSWORD },
    })
    userToken = (login.json() as { token: string }).token
  })
  afterAll(async () => {
    await t.close()
  })

  it('is shown once, recognisable, and enforces its scopes', async () => {
    const created = await newKey({
      name: 'reporting',
      scopes: [{ collection: 'posts', operations: ['list', 'view'] }],
      expiresInDays: 30,
    })
    expect(created.key).toMatch(/^erk_[A-Za-z0-9_-]{43}$/)
    const { key } = created
    expect((await withKey(key, 'GET', '/api/collections/posts/records')).statusCode).toBe(200)
    expect((await withKey(key, 'GET', '/api/collections/posts/records/p1')).statusCode).toBe(200)
    expectProblem(
      await withKey(key, 'POST', '/api/collections/posts/records', { title: 'x' }),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await withKey(key, 'PATCH', '/api/collections/posts/records/p1', { title: 'x' }),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await withKey(key, 'DELETE', '/api/collections/posts/records/p1'),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await withKey(key, 'GET', '/api/collections/secrets/records'),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await withKey(key, 'GET', '/api/collections/posts/records?expand=author'),
      403,
      'ER_FORBIDDEN',
    )
    // Inside a batch too: the scope check sits in the service, not the route.
    const batch = await withKey(key, 'POST', '/api/batch', {
      requests: [{ method: 'POST', url: '/api/collections/posts/records', body: { title: 'x' } }],
    })
    expect(batch.statusCode).toBe(403)
    // A superuser's key still cannot touch the schema, nor mint keys, nor see sessions.
    expectProblem(await withKey(key, 'GET', '/api/collections'), 403, 'ER_FORBIDDEN')
    expectProblem(
      await withKey(key, 'POST', keys(), {
        name: 'x',
        scopes: [{ collection: '*', operations: ['list'] }],
      }),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await withKey(key, 'GET', '/api/collections/_superusers/auth/sessions'),
      403,
      'ER_FORBIDDEN',
    )
  })

  it('never shows the key again, and stops working once revoked', async () => {
    const created = await newKey({
      name: 'temporary',
      scopes: [{ collection: '*', operations: ['list'] }],
    })
    const list = await t.call({ method: 'GET', url: keys() })
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toContain(created.key)
    expect(list.body).not.toContain(created.key.slice(4, 20))
    expect(list.body).not.toMatch(/"hash"/)
    expect((await withKey(created.key, 'GET', '/api/collections/secrets/records')).statusCode).toBe(
      200,
    )
    expect((await t.call({ method: 'DELETE', url: `${keys()}/${created.id}` })).statusCode).toBe(
      204,
    )
    expectProblem(
      await withKey(created.key, 'GET', '/api/collections/secrets/records'),
      401,
      'ER_AUTH_TOKEN_INVALID',
    )
    expectProblem(
      await t.call({ method: 'DELETE', url: `${keys()}/${created.id}` }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
  })

  it('expires', async () => {
    const created = await newKey({
      name: 'short',
      scopes: [{ collection: 'posts', operations: ['list'] }],
      expiresInDays: 1,
    })
    expect((await withKey(created.key, 'GET', '/api/collections/posts/records')).statusCode).toBe(
      200,
    )
    // The same key, stored as already expired: it must be refused.
    const { hashToken } = await import('../../src/services/auth/secret-tokens.js')
    const expiring = 'erk_' + 'e'.repeat(43)
    const row = await t.engine.store.auth.getApiKeyByHash(hashToken(created.key))
    await t.engine.store.auth.insertApiKey({
      ...(row as NonNullable<typeof row>),
      id: `${created.id}x`,
      hash: hashToken(expiring),
      expires: '2000-01-01T00:00:00.000Z',
    })
    expectProblem(
      await withKey(expiring, 'GET', '/api/collections/posts/records'),
      401,
      'ER_AUTH_TOKEN_INVALID',
    )
  })

  it('refuses forged, malformed and unknown keys alike', async () => {
    for (const key of ['erk_' + 'A'.repeat(43), 'erk_', 'erk_../../x', 'erk_' + 'A'.repeat(500)]) {
      expectProblem(
        await withKey(key, 'GET', '/api/collections/posts/records'),
        401,
        'ER_AUTH_TOKEN_INVALID',
      )
    }
  })

  it('validates the request, naming the field', async () => {
    const cases: [object, string][] = [
      [{ scopes: [{ collection: 'posts', operations: ['list'] }] }, 'name'],
      [{ name: 'x', scopes: [] }, 'scopes'],
      [
        { name: 'x', scopes: [{ collection: 'posts; drop', operations: ['list'] }] },
        'scopes.0.collection',
      ],
      [
        { name: 'x', scopes: [{ collection: 'posts', operations: ['admin'] }] },
        'scopes.0.operations',
      ],
      [
        { name: 'x', scopes: [{ collection: 'posts', operations: ['list'] }], expiresInDays: 5000 },
        'expiresInDays',
      ],
    ]
    for (const [body, field] of cases) {
      const res = await t.call({ method: 'POST', url: keys(), payload: body })
      expect(expectProblem(res, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty([field])
    }
  })

  it('lets users make keys for themselves; only superusers make them for others', async () => {
    const own = await newKey(
      { name: 'mine', scopes: [{ collection: 'posts', operations: ['list'] }] },
      'users',
      userToken,
    )
    const identity = await t.engine.auth.identify(own.key)
    expect(identity).toMatchObject({ isSuperuser: false, apiKey: { id: own.id } })
    expect(identity.collection.name).toBe('users')
    // Until access rules land, records are superuser-only: the user's key gets no further.
    expectProblem(
      await withKey(own.key, 'GET', '/api/collections/posts/records'),
      403,
      'ER_FORBIDDEN',
    )
    const annId = identity.record.id as string
    const other = await t.app.inject({
      method: 'POST',
      url: keys('users'),
      headers: { authorization: `Bearer ${userToken}` },
      payload: {
        name: 'x',
        record: 'someone',
        scopes: [{ collection: 'posts', operations: ['list'] }],
      },
    })
    expectProblem(other, 403, 'ER_FORBIDDEN')
    const forAnn = await t.call({
      method: 'POST',
      url: keys('users'),
      payload: {
        name: 'by admin',
        record: annId,
        scopes: [{ collection: 'posts', operations: ['list'] }],
      },
    })
    expect(forAnn.statusCode, forAnn.body).toBe(201)
    const annKeys = await t.app.inject({
      method: 'GET',
      url: keys('users'),
      headers: { authorization: `Bearer ${userToken}` },
    })
    expect((annKeys.json() as { items: unknown[] }).items).toHaveLength(2)
  })
})
