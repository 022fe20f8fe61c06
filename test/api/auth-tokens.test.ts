import { SignJWT, importJWK, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rotateSigningKey, removeSigningKey } from '../../src/services/auth/signing-keys.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'

interface SignedIn {
  token: string
  refreshToken: string
  record: Record<string, unknown>
}

describe.each(dialects)('access and refresh tokens on %s', (dialect) => {
  let t: TestEngine
  let ann: Record<string, unknown>
  const auth = (collection: string, path: string) => `/api/collections/${collection}/auth/${path}`
  const login = async (collection = 'users', email = 'ann@example.com'): Promise<SignedIn> => {
    const res = await t.call({
      method: 'POST',
      url: auth(collection, 'password'),
      payload: { identity: email, password: PASSWORD },
      anonymous: true,
    })
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as SignedIn
  }
  const sessions = (token: string, collection = 'users') =>
    t.call({
      method: 'GET',
      url: auth(collection, 'sessions'),
      headers: { authorization: `Bearer ${token}` },
    })
  const refresh = (refreshToken: string, collection = 'users') =>
    t.call({
      method: 'POST',
      url: auth(collection, 'refresh'),
      payload: { refreshToken },
      anonymous: true,
    })
  /** A token signed with the server's real private key, with claims of the test's choosing. */
  const forge = async (edit: (jwt: SignJWT) => SignJWT, claims: Record<string, unknown>) => {
    const keys = JSON.parse((await t.engine.store.getSetting('jwt_signing_keys')) as string) as {
      kid: string
      privateJwk: JWK
    }[]
    const key = keys[keys.length - 1] as { kid: string; privateJwk: JWK }
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    return edit(jwt).sign(await importJWK(key.privateJwk, 'EdDSA'))
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
    })
    await createCollection(t, { name: 'members', type: 'auth', fields: [] })
    ann = await createRecord(t, 'users', {
      email: 'ann@example.com',
      password: PASSWORD,
      name: 'Ann',
    })
    // Same id in another auth collection: the API refuses that (409), so the row is written
    // as a database from before that check, or an import, would hold it.
    const now = new Date().toISOString()
    await t.engine.store.insertRecord(t.engine.registry.get('members'), {
      id: ann.id as string,
      email: 'ann@example.com',
      password: await testPasswords.hash(PASSWORD),
      tokenKey: 'members-ann-token-key-0123456789',
      verified: false,
      created: now,
      updated: now,
    })
  })
  afterAll(async () => {
    await t.close()
  })

  it('log in answers { token, refreshToken, record } with no secret in the record', async () => {
    const signedIn = await login()
    expect(signedIn.token.split('.')).toHaveLength(3)
    expect(signedIn.refreshToken).toMatch(/^err_[A-Za-z0-9_-]{43}$/)
    expect(signedIn.record).toMatchObject({ id: ann.id, email: 'ann@example.com' })
    expect(signedIn.record).not.toHaveProperty('password')
    expect(signedIn.record).not.toHaveProperty('tokenKey')
    expect((await sessions(signedIn.token)).statusCode).toBe(200)
  })

  it.each([
    [
      'a tampered signature',
      (token: string) => token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA'),
    ],
    [
      'a tampered payload',
      (token: string) => {
        const [h, p, s] = token.split('.') as [string, string, string]
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
        return [
          h,
          Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url'),
          s,
        ].join('.')
      },
    ],
    [
      'alg: none',
      (token: string) => {
        const [, p] = token.split('.') as [string, string]
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`
      },
    ],
    ['garbage', () => 'not.a.jwt'],
  ])('refuses %s with 401', async (_name, mutate) => {
    const { token } = await login()
    expectProblem(await sessions(mutate(token)), 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('refuses an expired token, a wrong audience and an unknown kid, even correctly signed', async () => {
    const { token } = await login()
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1] as string, 'base64url').toString(),
    ) as Record<string, unknown>
    const base = (jwt: SignJWT) => jwt.setSubject(claims.sub as string).setIssuer('engineroom')
    const past = Math.floor(Date.now() / 1000) - 3600
    const expired = await forge(
      (jwt) =>
        base(jwt)
          .setAudience('engineroom:api')
          .setIssuedAt(past - 60)
          .setExpirationTime(past),
      { cid: claims.cid, tk: claims.tk, sid: claims.sid },
    )
    const audience = await forge(
      (jwt) => base(jwt).setAudience('someone-else').setExpirationTime('1h'),
      { cid: claims.cid, tk: claims.tk, sid: claims.sid },
    )
    const control = await forge(
      (jwt) => base(jwt).setAudience('engineroom:api').setExpirationTime('1h'),
      { cid: claims.cid, tk: claims.tk, sid: claims.sid },
    )
    expect((await sessions(control)).statusCode).toBe(200)
    expectProblem(await sessions(expired), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await sessions(audience), 401, 'ER_AUTH_TOKEN_INVALID')
    const [h, p, s] = control.split('.') as [string, string, string]
    const header = {
      ...(JSON.parse(Buffer.from(h, 'base64url').toString()) as object),
      kid: 'k-unknown',
    }
    expectProblem(
      await sessions(`${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${s}`),
      401,
      'ER_AUTH_TOKEN_INVALID',
    )
  })

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const { token } = await login()
    const claims = JSON.parse(
      Buffer.from(token.split('.')[1] as string, 'base64url').toString(),
    ) as Record<string, unknown>
    const jwks = (
      await t.call({ method: 'GET', url: '/.well-known/jwks.json', anonymous: true })
    ).json() as { keys: JWK[] }
    const publicKey = jwks.keys[jwks.keys.length - 1] as JWK
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid as string, typ: 'JWT' })
      .sign(new TextEncoder().encode(JSON.stringify(publicKey)))
    const forgedX = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid as string, typ: 'JWT' })
      .sign(Buffer.from(publicKey.x as string, 'base64url'))
    expectProblem(await sessions(forged), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await sessions(forgedX), 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('verifies a signature once, then trusts it from the cache until expiry', async () => {
    const { token } = await login()
    const tokens = t.engine.tokens
    const original = tokens.verifySignature.bind(tokens)
    let verifies = 0
    tokens.verifySignature = async (jwt) => {
      verifies++
      return original(jwt)
    }
    try {
      for (let i = 0; i < 5; i++) expect((await sessions(token)).statusCode).toBe(200)
      expect(verifies).toBe(1)
    } finally {
      tokens.verifySignature = original
    }
  })

  it('refresh rotates the token; reusing a spent one revokes the whole family', async () => {
    const first = await login()
    const res = await refresh(first.refreshToken)
    expect(res.statusCode, res.body).toBe(200)
    const second = res.json() as SignedIn
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(second.record).toMatchObject({ id: ann.id })
    expect((await sessions(second.token)).statusCode).toBe(200)
    // An attacker replays the first (spent) token…
    expectProblem(await refresh(first.refreshToken), 401, 'ER_AUTH_REFRESH_INVALID')
    // …and the legitimate holder's newer token and access token are dead too.
    expectProblem(await refresh(second.refreshToken), 401, 'ER_AUTH_REFRESH_INVALID')
    expectProblem(await sessions(second.token), 401, 'ER_AUTH_TOKEN_INVALID')
    // Other sessions of the same user are untouched.
    expect((await sessions((await login()).token)).statusCode).toBe(200)
  })

  it('refuses malformed and unknown refresh tokens with the same 401', async () => {
    for (const bad of ['err_' + 'A'.repeat(43), 'x', 'err_' + 'A'.repeat(200), '../../etc']) {
      expectProblem(await refresh(bad), 401, 'ER_AUTH_REFRESH_INVALID')
    }
    const missing = await t.call({
      method: 'POST',
      url: auth('users', 'refresh'),
      payload: {},
      anonymous: true,
    })
    expect(expectProblem(missing, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
      'refreshToken',
    )
  })

  it('log out revokes the session: its access and refresh tokens stop working', async () => {
    const signedIn = await login()
    const out = await t.call({
      method: 'POST',
      url: auth('users', 'logout'),
      headers: { authorization: `Bearer ${signedIn.token}` },
    })
    expect(out.statusCode, out.body).toBe(204)
    expectProblem(await sessions(signedIn.token), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await refresh(signedIn.refreshToken), 401, 'ER_AUTH_REFRESH_INVALID')
    // By refresh token alone (an expired access token must not trap the user).
    const other = await login()
    const byRefresh = await t.call({
      method: 'POST',
      url: auth('users', 'logout'),
      payload: { refreshToken: other.refreshToken },
      anonymous: true,
    })
    expect(byRefresh.statusCode).toBe(204)
    expectProblem(await sessions(other.token), 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('a token of another auth collection identifies as that collection record, never this one', async () => {
    const member = await login('members')
    // Same id, same e-mail, same password, different collection.
    expectProblem(await sessions(member.token, 'users'), 403, 'ER_FORBIDDEN')
    expectProblem(await refresh(member.refreshToken, 'users'), 401, 'ER_AUTH_REFRESH_INVALID')
    const identity = await t.engine.auth.identify(member.token)
    expect(identity.collection.name).toBe('members')
    expect(identity.isSuperuser).toBe(false)
    // And a user's token cannot act as a superuser.
    const user = await login()
    expectProblem(
      await t.call({
        method: 'GET',
        url: '/api/collections',
        headers: { authorization: `Bearer ${user.token}` },
      }),
      403,
      'ER_FORBIDDEN',
    )
  })

  it('lists the caller own live sessions and revokes one or all', async () => {
    await t.call({
      method: 'DELETE',
      url: auth('users', 'sessions'),
      headers: { authorization: `Bearer ${(await login()).token}` },
    })
    const a = await login()
    const b = await login()
    const list = (await sessions(a.token)).json() as { items: { id: string; current: boolean }[] }
    expect(list.items).toHaveLength(2)
    expect(list.items.filter((s) => s.current)).toHaveLength(1)
    expect(JSON.stringify(list)).not.toContain(a.refreshToken)
    const bId = list.items.find((s) => !s.current)?.id as string
    const del = await t.call({
      method: 'DELETE',
      url: `${auth('users', 'sessions')}/${bId}`,
      headers: { authorization: `Bearer ${a.token}` },
    })
    expect(del.statusCode).toBe(204)
    expectProblem(await sessions(b.token), 401, 'ER_AUTH_TOKEN_INVALID')
    // Someone else's session id is "not found".
    const member = await login('members')
    const memberSession = (
      (await sessions(member.token, 'members')).json() as { items: { id: string }[] }
    ).items[0]?.id as string
    expectProblem(
      await t.call({
        method: 'DELETE',
        url: `${auth('users', 'sessions')}/${memberSession}`,
        headers: { authorization: `Bearer ${a.token}` },
      }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    const all = await t.call({
      method: 'DELETE',
      url: auth('users', 'sessions'),
      headers: { authorization: `Bearer ${a.token}` },
    })
    expect(all.json()).toEqual({ revoked: 1 })
    expectProblem(await sessions(a.token), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await sessions(''), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(
      await t.call({ method: 'GET', url: auth('users', 'sessions'), anonymous: true }),
      401,
      'ER_AUTH_REQUIRED',
    )
  })

  it('a password change ends existing sessions', async () => {
    const signedIn = await login()
    const changed = await t.call({
      method: 'PATCH',
      url: `/api/collections/users/records/${ann.id as string}`,
      payload: { password: PASSWORD },
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expectProblem(await sessions(signedIn.token), 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await refresh(signedIn.refreshToken), 401, 'ER_AUTH_REFRESH_INVALID')
  })

  it('rotates signing keys: old tokens verify until their key is removed', async () => {
    const before = await login()
    const oldKid = (
      JSON.parse(Buffer.from(before.token.split('.')[0] as string, 'base64url').toString()) as {
        kid: string
      }
    ).kid
    const newKid = await rotateSigningKey(t.engine.store)
    await t.engine.tokens.reload()
    const after = await login()
    expect(
      JSON.parse(Buffer.from(after.token.split('.')[0] as string, 'base64url').toString()),
    ).toMatchObject({ kid: newKid })
    expect((await sessions(before.token)).statusCode).toBe(200)
    const jwks = (
      await t.call({ method: 'GET', url: '/.well-known/jwks.json', anonymous: true })
    ).json() as { keys: JWK[] }
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort())
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true)
    await expect(removeSigningKey(t.engine.store, newKid)).rejects.toThrow(/signs now/)
    await removeSigningKey(t.engine.store, oldKid)
    await t.engine.tokens.reload()
    expectProblem(await sessions(before.token), 401, 'ER_AUTH_TOKEN_INVALID')
    expect((await sessions(after.token)).statusCode).toBe(200)
  })
})
