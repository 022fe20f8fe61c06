import { generateKeyPair, SignJWT, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

const LOGIN = '/api/collections/_superusers/auth/password'
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >

describe.each(dialects)('superuser authentication on %s', (dialect) => {
  let t: TestEngine
  const login = (payload: unknown) =>
    t.call({ method: 'POST', url: LOGIN, anonymous: true, payload: payload as object })
  const withToken = (token: string) =>
    t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { authorization: `Bearer ${token}` },
    })

  beforeAll(async () => {
    t = await createTestEngine(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('logs in and returns a working token and the record without secrets', async () => {
    const res = await login({ identity: 'ROOT@example.com', password: 'correct horse battery' })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json()
    expect(body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(body.record).toMatchObject({
      email: 'root@example.com',
      verified: false,
      id: expect.any(String),
    })
    expect(body.record).not.toHaveProperty('password')
    expect(body.record).not.toHaveProperty('tokenKey')
    expect(res.body).not.toMatch(/argon2|\$argon/)
    expect(decodeProtectedHeader(body.token)).toMatchObject({ alg: 'EdDSA' })
    expect(claimsOf(body.token)).toMatchObject({ sub: body.record.id })
    expect((await withToken(body.token)).statusCode).toBe(200)
  })

  it('never returns password or tokenKey when listing or reading superusers', async () => {
    const list = await t.call({ method: 'GET', url: '/api/collections/_superusers/records' })
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toMatch(/"password"|"tokenKey"|argon2/)
    const filtered = await t.call({
      method: 'GET',
      url: `/api/collections/_superusers/records?${new URLSearchParams({ filter: 'password != ""' })}`,
    })
    expect(filtered.statusCode).toBe(400)
    const fields = await t.call({
      method: 'GET',
      url: '/api/collections/_superusers/records?fields=id,tokenKey',
    })
    expect(fields.statusCode).toBe(400)
  })

  it('answers a wrong password and an unknown e-mail with the same 400 body', async () => {
    const wrong = await login({ identity: 'root@example.com', password: 'wrong password!' })
    const unknown = await login({ identity: 'nobody@example.com', password: 'wrong password!' })
    const problem = expectProblem(wrong, 400, 'ER_AUTH_INVALID_CREDENTIALS')
    expectProblem(unknown, 400, 'ER_AUTH_INVALID_CREDENTIALS')
    expect(unknown.json()).toEqual(problem)
    expect(wrong.body).not.toContain('root@example.com')
  })

  it.each([
    [{}, 'identity'],
    [{ identity: 'root@example.com' }, 'password'],
    [{ identity: 42, password: 'x' }, 'identity'],
    [{ identity: 'root@example.com', password: 'x'.repeat(300) }, 'password'],
  ])('refuses the login body %j with 400 naming %s', async (payload, field) => {
    expect(expectProblem(await login(payload), 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
      field,
    )
  })

  it('has no password login for a base collection or a missing one', async () => {
    await t.call({ method: 'POST', url: '/api/collections', payload: { name: 'plain' } })
    expectProblem(
      await t.call({
        method: 'POST',
        url: '/api/collections/plain/auth/password',
        anonymous: true,
        payload: { identity: 'a@b.c', password: 'x' },
      }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
    expectProblem(
      await t.call({
        method: 'POST',
        url: '/api/collections/ghosts/auth/password',
        anonymous: true,
        payload: { identity: 'a@b.c', password: 'x' },
      }),
      404,
      'ER_COLLECTION_NOT_FOUND',
    )
  })

  it('publishes the public key at /.well-known/jwks.json, without the private part', async () => {
    const res = await t.call({ method: 'GET', url: '/.well-known/jwks.json', anonymous: true })
    expect(res.statusCode).toBe(200)
    const { keys } = res.json() as { keys: Record<string, unknown>[] }
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      expect(key).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        alg: 'EdDSA',
        use: 'sig',
        kid: expect.any(String),
        x: expect.any(String),
      })
      expect(key).not.toHaveProperty('d')
    }
    expect(keys.map((k) => k.kid)).toContain(decodeProtectedHeader(t.token).kid)
  })

  it('refuses tampered, unsigned and foreign tokens with 401', async () => {
    const [header = '', payload = '', signature = ''] = t.token.split('.')
    const claims = claimsOf(t.token)
    const kid = decodeProtectedHeader(t.token).kid as string
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    const foreign = await new SignJWT({ cid: claims.cid, tk: claims.tk })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
      .setSubject(claims.sub as string)
      .setIssuer('engineroom')
      .setAudience('engineroom:api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey)
    const expired = { ...claims, exp: Math.floor(Date.now() / 1000) - 60 }
    const tokens = {
      tamperedPayload: `${header}.${b64({ ...claims, sub: 'someone-else' })}.${signature}`,
      tamperedSignature: `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      algNoneNoDot: `${b64({ alg: 'none', typ: 'JWT' })}.${payload}`,
      algHs256: `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${payload}.${signature}`,
      foreignKey: foreign,
      expiredClaims: `${header}.${b64(expired)}.${signature}`,
      garbage: 'not-a-token',
    }
    for (const [why, token] of Object.entries(tokens)) {
      const res = await withToken(token)
      expect(res.statusCode, why).toBe(401)
      expect(res.json().code, why).toBe('ER_AUTH_TOKEN_INVALID')
    }
    expectProblem(
      await t.call({
        method: 'GET',
        url: '/api/collections',
        headers: { authorization: `Bearer ${'a'.repeat(5000)}` },
      }),
      401,
      'ER_AUTH_TOKEN_INVALID',
    )
    expect((await withToken(t.token)).statusCode).toBe(200)
  })

  it('a password change invalidates the old token, and the new password logs in', async () => {
    const other = await createRecord(t, '_superusers', {
      email: 'second@example.com',
      password: 'first password',
    })
    expect(other).not.toHaveProperty('password')
    expect(other).not.toHaveProperty('tokenKey')
    const first = (
      await login({ identity: 'second@example.com', password: 'first password' })
    ).json().token as string
    expect((await withToken(first)).statusCode).toBe(200)
    const change = await t.call({
      method: 'PATCH',
      url: `/api/collections/_superusers/records/${other.id}`,
      headers: { authorization: `Bearer ${first}` },
      payload: { password: 'second password' },
    })
    expect(change.statusCode, change.body).toBe(200)
    expect(change.body).not.toMatch(/"password"|"tokenKey"/)
    expectProblem(await withToken(first), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(
      await login({ identity: 'second@example.com', password: 'first password' }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    const next = await login({ identity: 'second@example.com', password: 'second password' })
    expect(next.statusCode).toBe(200)
    expect((await withToken(next.json().token)).statusCode).toBe(200)
    // Other superusers' tokens are unaffected.
    expect((await withToken(t.token)).statusCode).toBe(200)
  })

  it("a deleted superuser's token stops working", async () => {
    const gone = await createRecord(t, '_superusers', {
      email: 'gone@example.com',
      password: 'some password',
    })
    const token = (await login({ identity: 'gone@example.com', password: 'some password' })).json()
      .token as string
    expect(
      (await t.call({ method: 'DELETE', url: `/api/collections/_superusers/records/${gone.id}` }))
        .statusCode,
    ).toBe(204)
    expectProblem(await withToken(token), 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('refuses to delete the last superuser, alone or in a batch, and deletes nothing', async () => {
    const superusers = async () =>
      (
        (await t.call({ method: 'GET', url: '/api/collections/_superusers/records' })).json() as {
          items: { id: string }[]
        }
      ).items.map((r) => r.id)
    const [root, ...others] = await superusers()
    for (const id of others) {
      await t.call({ method: 'DELETE', url: `/api/collections/_superusers/records/${id}` })
    }
    expect(await superusers()).toEqual([root])
    const last = expectProblem(
      await t.call({ method: 'DELETE', url: `/api/collections/_superusers/records/${root}` }),
      409,
      'ER_LAST_SUPERUSER',
    )
    expect(last.detail).toContain('engineroom superuser create')
    const spare = await createRecord(t, '_superusers', {
      email: 'spare@example.com',
      password: 'spare password',
    })
    const both = await t.call({
      method: 'POST',
      url: '/api/batch',
      payload: {
        requests: [root, spare.id].map((id) => ({
          method: 'DELETE',
          url: `/api/collections/_superusers/records/${id}`,
        })),
      },
    })
    expect(expectProblem(both, 409, 'ER_LAST_SUPERUSER').index).toBe(1)
    expect((await superusers()).sort()).toEqual([root, spare.id].sort())
    // With another superuser left, deleting one is fine.
    expect(
      (await t.call({ method: 'DELETE', url: `/api/collections/_superusers/records/${spare.id}` }))
        .statusCode,
    ).toBe(204)
  })

  it('refuses a second account with the same e-mail in any case (409)', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/_superusers/records',
      payload: { email: 'Root@Example.com', password: 'another password' },
    })
    expect(Object.keys(expectProblem(res, 409, 'ER_RECORD_CONFLICT').errors ?? {})).toEqual([
      'email',
    ])
  })
})
