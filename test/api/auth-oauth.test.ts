/**
 * OAuth2 / OpenID Connect sign-in end to end: a real identity provider (oidc-provider) and the
 * engine both listen on loopback; a fetch-driven user agent signs in through the provider's forms
 * and hands the callback to the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { listenLocalIdp, signInAtIdp, type LocalIdp } from '../helpers/local-idp.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const CLIENT = { clientId: 'engine-room', clientSecret: 'a client secret the idp knows' }
const APP = 'http://app.example'

interface SignedIn {
  token: string
  refreshToken: string
  record: Record<string, unknown>
}

describe.each(dialects)('OAuth2 / OIDC sign-in on %s', (dialect) => {
  let t: TestEngine
  let idp: LocalIdp
  let base = ''
  const startPath = (collection: string, provider = 'corp', query = '') =>
    `/api/collections/${collection}/auth/oauth2/${provider}${query}`
  const callbackOf = (collection: string) => `${base}${startPath(collection)}/callback`
  const count = async (collection: string) =>
    (
      await t.call({ method: 'GET', url: `/api/collections/${collection}/records?count=true` })
    ).json().totalItems as number

  /** Signs in at the IdP as `login`; returns the engine's answer to the callback. */
  async function signIn(login: string, collection = 'users', query = '') {
    const flow = await signInAtIdp(
      `${base}${startPath(collection, 'corp', query)}`,
      login,
      callbackOf(collection),
    )
    const res = await fetch(flow.callbackUrl, {
      headers: { cookie: flow.binderCookie },
      redirect: 'manual',
    })
    return { res, ...flow }
  }

  beforeAll(async () => {
    idp = await listenLocalIdp()
    const providers = ['users', 'staff'].map((collection) => ({
      name: 'corp',
      collection,
      issuer: idp.issuer,
      ...CLIENT,
    }))
    t = await createTestEngine(dialect, {
      oauth: { providers, publicUrl: () => base, redirectOrigins: [APP] },
    })
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
    idp.start({ ...CLIENT, redirectUris: [callbackOf('users'), callbackOf('staff')] })
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: { create: '' },
    })
    await createCollection(t, { name: 'staff', type: 'auth', fields: [] })
    idp.accounts.set('ann', { sub: 'sub-ann', email: 'Ann@Example.com', email_verified: true })
    idp.accounts.set('bob', { sub: 'sub-bob', email: 'bob@example.com', email_verified: true })
    idp.accounts.set('eve', { sub: 'sub-eve', email: 'eve@example.com', email_verified: false })
  })
  afterAll(async () => {
    await t?.close()
    await idp?.close()
  })

  it('redirects to the provider with PKCE (S256), state, nonce and the callback URI', async () => {
    const res = await fetch(`${base}${startPath('users')}`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const url = new URL(res.headers.get('location') ?? '')
    expect(url.origin).toBe(idp.issuer)
    const params = Object.fromEntries(url.searchParams)
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: CLIENT.clientId,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      redirect_uri: callbackOf('users'),
    })
    expect(params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(params.state).toBeTruthy()
    expect(params.nonce).toBeTruthy()
    expect(res.headers.get('set-cookie')).toMatch(/^er_oauth=[^;]+;.*HttpOnly; SameSite=Lax/)
  })

  it('creates and signs in a new user, then links the second sign-in to the same record', async () => {
    const before = await count('users')
    const first = await signIn('ann')
    expect(first.res.status).toBe(200)
    expect(first.res.headers.get('cache-control')).toBe('no-store')
    const body = (await first.res.json()) as SignedIn
    expect(body.record).toMatchObject({ email: 'ann@example.com', verified: true })
    expect(body.token).toBeTruthy()
    expect(body.refreshToken).toMatch(/^err_/)
    expect(JSON.stringify(body)).not.toContain(CLIENT.clientSecret)
    const me = await t.call({
      method: 'GET',
      url: '/api/collections/users/auth/sessions',
      headers: { authorization: `Bearer ${body.token}` },
    })
    expect(me.statusCode, me.body).toBe(200)

    const second = await signIn('ann')
    expect(second.res.status).toBe(200)
    const again = (await second.res.json()) as SignedIn
    expect(again.record.id).toBe(body.record.id)
    expect(await count('users')).toBe(before + 1)
  })

  it('links an existing password account by the verified e-mail', async () => {
    const bob = await createRecord(t, 'users', {
      email: 'bob@example.com',
      password: 'bob password long enough',
      verified: true,
    })
    const before = await count('users')
    const { res } = await signIn('bob')
    expect(res.status).toBe(200)
    expect(((await res.json()) as SignedIn).record.id).toBe(bob.id)
    expect(await count('users')).toBe(before)
  })

  it('voids the password of an unverified account it links (no pre-registered takeover)', async () => {
    const fay = await createRecord(t, 'users', {
      email: 'fay@example.com',
      password: 'squatter password long',
    })
    expect(fay.verified).toBe(false)
    idp.accounts.set('fay', { sub: 'sub-fay', email: 'fay@example.com', email_verified: true })
    const { res } = await signIn('fay')
    expect(res.status).toBe(200)
    expect(((await res.json()) as SignedIn).record).toMatchObject({ id: fay.id, verified: true })
    const squatter = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'fay@example.com', password: 'squatter password long' },
      anonymous: true,
    })
    expectProblem(squatter, 400, 'ER_AUTH_INVALID_CREDENTIALS')
  })

  it('does not link by an e-mail the provider has not verified', async () => {
    await createRecord(t, 'users', {
      email: 'eve@example.com',
      password: 'eve password long enough',
    })
    const { res } = await signIn('eve')
    expect(res.status).toBe(409)
    expect(((await res.json()) as { code: string }).code).toBe('ER_AUTH_OAUTH_EMAIL_CONFLICT')
  })

  it('refuses a replayed, tampered or unbound state with 400 and creates nothing', async () => {
    idp.accounts.set('cid', { sub: 'sub-cid', email: 'cid@example.com', email_verified: true })
    const before = await count('users')
    // Tampered: another state than the one issued.
    const first = await signInAtIdp(`${base}${startPath('users')}`, 'cid', callbackOf('users'))
    const tampered = new URL(first.callbackUrl)
    tampered.searchParams.set('state', 'x' + tampered.searchParams.get('state'))
    let res = await fetch(tampered, { headers: { cookie: first.binderCookie } })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('ER_AUTH_OAUTH_STATE_INVALID')
    // Without the browser-binding cookie (a callback link sent to someone else).
    const second = await signInAtIdp(`${base}${startPath('users')}`, 'cid', callbackOf('users'))
    res = await fetch(second.callbackUrl)
    expect(res.status).toBe(400)
    // Replayed: the state is single use, even after its callback failed.
    res = await fetch(second.callbackUrl, { headers: { cookie: second.binderCookie } })
    expect(res.status).toBe(400)
    expect(await count('users')).toBe(before)
    // A correct flow still works afterwards.
    const ok = await signIn('cid')
    expect(ok.res.status).toBe(200)
  })

  it('answers 404 for an unknown provider', async () => {
    const res = await t.call({ method: 'GET', url: startPath('users', 'nope'), anonymous: true })
    expectProblem(res, 404, 'ER_AUTH_OAUTH_PROVIDER_NOT_FOUND')
    const cb = await t.call({
      method: 'GET',
      url: `${startPath('users', 'nope')}/callback?code=x&state=y`,
      anonymous: true,
    })
    expectProblem(cb, 404, 'ER_AUTH_OAUTH_PROVIDER_NOT_FOUND')
  })

  it('refuses to create an account when the create rule is not open', async () => {
    idp.accounts.set('dan', { sub: 'sub-dan', email: 'dan@example.com', email_verified: true })
    const { res } = await signIn('dan', 'staff')
    expect(res.status).toBe(403)
    expect(((await res.json()) as { code: string }).code).toBe('ER_AUTH_OAUTH_SIGNUP_CLOSED')
    expect(await count('staff')).toBe(0)
  })

  it('redirects back to an allowed app URL with the tokens in the fragment, never elsewhere', async () => {
    const evil = await t.call({
      method: 'GET',
      url: startPath('users', 'corp', `?redirect=${encodeURIComponent('https://evil.example/x')}`),
      anonymous: true,
    })
    expectProblem(evil, 400, 'ER_AUTH_OAUTH_REDIRECT_REJECTED')
    const { res } = await signIn('ann', 'users', `?redirect=${encodeURIComponent(`${APP}/done`)}`)
    expect(res.status).toBe(302)
    const target = new URL(res.headers.get('location') ?? '')
    expect(`${target.origin}${target.pathname}`).toBe(`${APP}/done`)
    expect(target.search).toBe('')
    const fragment = new URLSearchParams(target.hash.slice(1))
    expect(fragment.get('token')).toBeTruthy()
    expect(fragment.get('refreshToken')).toMatch(/^err_/)
  })
})
