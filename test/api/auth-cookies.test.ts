import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'
const SELF = 'http://localhost:80'

describe.each(dialects)('cookie sessions, CSRF and logs on %s', (dialect) => {
  let t: TestEngine
  const logLines: string[] = []
  const cookieHeader = (setCookie: string | string[] | undefined) =>
    ([] as string[])
      .concat(setCookie ?? [])
      .map((c) => c.split(';')[0])
      .join('; ')

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      authCookies: {
        sameSite: 'strict',
        trustedOrigins: ['https://app.example.com'],
        accessTtlSeconds: 900,
        sessionTtlSeconds: 86400,
      },
      logger: {
        level: 'trace',
        stream: new Writable({
          write(chunk: Buffer, _enc, done) {
            logLines.push(chunk.toString())
            done()
          },
        }),
      },
    })
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
  })
  afterAll(async () => {
    await t.close()
  })

  const loginWithCookies = async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      headers: { origin: 'https://app.example.com' },
      payload: { identity: 'ann@example.com', password: PASSWORD, cookie: true },
    })
    expect(res.statusCode, res.body).toBe(200)
    return res
  }

  it('sets HttpOnly, Secure, SameSite cookies and keeps tokens out of the body', async () => {
    const res = await loginWithCookies()
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
    expect(cookies).toHaveLength(2)
    for (const c of cookies) expect(c).toMatch(/HttpOnly/i)
    for (const c of cookies) expect(c).toMatch(/Secure/i)
    for (const c of cookies) expect(c).toMatch(/SameSite=Strict/i)
    expect(cookies.find((c) => c.startsWith('__Host-er_token='))).toMatch(/Path=\//)
    expect(cookies.find((c) => c.startsWith('__Secure-er_refresh='))).toMatch(
      /Path=\/api\/collections/,
    )
    const body = res.json() as Record<string, unknown>
    expect(Object.keys(body)).toEqual(['record'])
  })

  it('authenticates reads by cookie, and refreshes from the cookie', async () => {
    const cookie = cookieHeader((await loginWithCookies()).headers['set-cookie'])
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/sessions',
      headers: { cookie },
    })
    expect(list.statusCode, list.body).toBe(200)
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/refresh',
      headers: { cookie, origin: SELF },
      payload: {},
    })
    expect(refreshed.statusCode, refreshed.body).toBe(200)
    expect(Object.keys(refreshed.json() as object)).toEqual(['record'])
    expect(cookieHeader(refreshed.headers['set-cookie'])).not.toBe(cookie)
  })

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['no Origin at all', {}],
    ['a lookalike Origin', { origin: 'https://app.example.com.evil.example' }],
  ])('refuses cookie-authenticated writes with %s (403)', async (_name, headers) => {
    const cookie = cookieHeader((await loginWithCookies()).headers['set-cookie'])
    for (const url of [
      '/api/collections/users/auth/refresh',
      '/api/collections/users/auth/logout',
      '/api/collections/users/records',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, ...headers },
        payload: {},
      })
      expectProblem(res, 403, 'ER_AUTH_ORIGIN_REJECTED')
    }
  })

  it('refuses a cross-site login (login CSRF) but not a header-only API client', async () => {
    const csrf = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      headers: { origin: 'https://evil.example' },
      payload: { identity: 'ann@example.com', password: PASSWORD, cookie: true },
    })
    expectProblem(csrf, 403, 'ER_AUTH_ORIGIN_REJECTED')
    const api = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: PASSWORD },
    })
    expect(api.statusCode).toBe(200)
    expect(Object.keys(api.json() as object).sort()).toEqual(['record', 'refreshToken', 'token'])
  })

  it('log out from the same origin clears the cookies and ends the session', async () => {
    const cookie = cookieHeader((await loginWithCookies()).headers['set-cookie'])
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/logout',
      headers: { cookie, origin: 'https://app.example.com' },
    })
    expect(out.statusCode, out.body).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/Expires=Thu, 01 Jan 1970/)
    const after = await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/sessions',
      headers: { cookie },
    })
    expectProblem(after, 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('writes no password, token or refresh token to any log line', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: PASSWORD },
    })
    const { token, refreshToken } = res.json() as { token: string; refreshToken: string }
    await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/refresh',
      payload: { refreshToken },
    })
    await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/refresh',
      payload: { refreshToken },
    })
    await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/sessions',
      headers: { authorization: `Bearer ${token}` },
    })
    const logs = logLines.join('\n')
    expect(logs.length).toBeGreaterThan(0)
    for (const secret of [
      PASSWORD,
      token,
      refreshToken,
      token.split('.')[2] as string,
      refreshToken.slice(4),
    ]) {
      expect(logs).not.toContain(secret)
    }
    expect(logs).not.toMatch(/err_[A-Za-z0-9_-]{20}/)
    expect(logs).not.toMatch(/\$argon2id\$/)
  })
})
