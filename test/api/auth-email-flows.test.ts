import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSmtpMailer } from '../../src/adapters/mailer/smtp/smtp-mailer.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'
const APP = 'https://app.example.com'

/** The token of the link in a mail, with the path it opens. */
function linkIn(mail: ReceivedMail): { path: string; collection: string; token: string } {
  const match =
    /https:\/\/app\.example\.com\/auth\/([a-z-]+)#collection=([a-z_]+)&token=([A-Za-z0-9_-]+)/.exec(
      mail.text,
    )
  if (!match) throw new Error(`no link in mail:\n${mail.text}`)
  return { path: match[1] as string, collection: match[2] as string, token: match[3] as string }
}

describe.each(dialects)('e-mail flows over real SMTP on %s', (dialect) => {
  let t: TestEngine
  let smtp: SmtpSink
  let now = Date.now()
  const post = (path: string, payload: object, token?: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/collections/users/auth/${path}`,
      payload,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })
  const login = (identity: string, password: string) => post('password', { identity, password })
  const userById = async (id: string) =>
    (await t.call({ method: 'GET', url: `/api/collections/users/records/${id}` })).json() as Record<
      string,
      unknown
    >

  beforeAll(async () => {
    smtp = await startSmtpSink()
    t = await createTestEngine(dialect, {
      engine: {
        mailer: createSmtpMailer({ url: smtp.url, from: 'Career Hub <no-reply@example.com>' }),
        appUrl: APP,
        clock: { now: () => new Date(now) },
      },
    })
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
    })
  })
  afterAll(async () => {
    await t.close()
    await smtp.close()
  })

  it('register → verification mail → verify → log in → refresh → log out', async () => {
    // Registration: a superuser creates the record until create rules exist.
    const ann = await createRecord(t, 'users', {
      email: 'ann@example.com',
      password: PASSWORD,
      name: 'Ann',
    })
    expect(ann.verified).toBe(false)
    const unknown = await post('request-verification', { email: 'nobody@example.com' })
    const known = await post('request-verification', { email: 'ANN@example.com' })
    expect(known.statusCode).toBe(204)
    expect(unknown.statusCode).toBe(known.statusCode)
    expect(unknown.body).toBe(known.body)
    const mail = await smtp.next('ann@example.com')
    expect(mail.raw).toMatch(/^Subject: Verify your e-mail/m)
    expect(mail.raw).toMatch(/^From: Career Hub <no-reply@example.com>/m)
    const link = linkIn(mail)
    expect(link).toMatchObject({ path: 'verify-email', collection: 'users' })
    expect(link.token).toMatch(/^erv_/)
    expect(smtp.mails.some((m) => m.to.includes('nobody@example.com'))).toBe(false)

    expect((await post('verify-email', { token: link.token })).statusCode).toBe(204)
    expect((await userById(ann.id as string)).verified).toBe(true)
    expectProblem(await post('verify-email', { token: link.token }), 400, 'ER_AUTH_LINK_INVALID')

    const signedIn = await login('ann@example.com', PASSWORD)
    expect(signedIn.statusCode).toBe(200)
    const refreshed = await post('refresh', { refreshToken: signedIn.json().refreshToken })
    expect(refreshed.statusCode).toBe(200)
    expect((await post('logout', {}, refreshed.json().token)).statusCode).toBe(204)
    expectProblem(
      await post('refresh', { refreshToken: refreshed.json().refreshToken }),
      401,
      'ER_AUTH_REFRESH_INVALID',
    )
  })

  it('password reset also revokes the API keys of the account', async () => {
    await createRecord(t, 'users', { email: 'kay@example.com', password: PASSWORD })
    const { token } = (await login('kay@example.com', PASSWORD)).json() as { token: string }
    const made = await post(
      'api-keys',
      { name: 'script', scopes: [{ collection: '*', operations: ['list'] }] },
      token,
    )
    expect(made.statusCode, made.body).toBe(201)
    const { key } = made.json() as { key: string }
    const useKey = () =>
      t.app.inject({
        method: 'GET',
        url: '/api/collections/users/records',
        headers: { authorization: `Bearer ${key}` },
      })
    expect((await useKey()).statusCode).not.toBe(401)
    await post('request-password-reset', { email: 'kay@example.com' })
    const { token: link } = linkIn(await smtp.next('kay@example.com'))
    expect(
      (await post('reset-password', { token: link, password: 'a brand new password' })).statusCode,
    ).toBe(204)
    expectProblem(await useKey(), 401, 'ER_AUTH_TOKEN_INVALID')
    const fresh = (await login('kay@example.com', 'a brand new password')).json() as {
      token: string
    }
    const keys = await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/api-keys',
      headers: { authorization: `Bearer ${fresh.token}` },
    })
    expect((keys.json() as { items: { revoked: string | null }[] }).items).toEqual([
      expect.objectContaining({ revoked: expect.any(String) }),
    ])
  })

  it('password reset: single use, validated before spending, ends old sessions', async () => {
    const bob = await createRecord(t, 'users', { email: 'bob@example.com', password: PASSWORD })
    const old = (await login('bob@example.com', PASSWORD)).json() as {
      token: string
      refreshToken: string
    }
    expect((await post('request-password-reset', { email: 'bob@example.com' })).statusCode).toBe(
      204,
    )
    expect((await post('request-password-reset', { email: 'nobody@example.com' })).statusCode).toBe(
      204,
    )
    const { token, path } = linkIn(await smtp.next('bob@example.com'))
    expect(path).toBe('reset-password')
    const short = await post('reset-password', { token, password: 'short' })
    expect(expectProblem(short, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('password')
    expect(
      (await post('reset-password', { token, password: 'a brand new password' })).statusCode,
    ).toBe(204)
    expectProblem(
      await post('reset-password', { token, password: 'another new password' }),
      400,
      'ER_AUTH_LINK_INVALID',
    )
    expectProblem(
      await post('refresh', { refreshToken: old.refreshToken }),
      401,
      'ER_AUTH_REFRESH_INVALID',
    )
    const sessions = await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/sessions',
      headers: { authorization: `Bearer ${old.token}` },
    })
    expectProblem(sessions, 401, 'ER_AUTH_TOKEN_INVALID')
    expectProblem(await login('bob@example.com', PASSWORD), 400, 'ER_AUTH_INVALID_CREDENTIALS')
    expect((await login('bob@example.com', 'a brand new password')).statusCode).toBe(200)
    expect((await userById(bob.id as string)).verified).toBe(true)
  })

  it('a reset link expires, and only the newest link works', async () => {
    await createRecord(t, 'users', { email: 'cy@example.com', password: PASSWORD })
    await post('request-password-reset', { email: 'cy@example.com' })
    const first = linkIn(await smtp.next('cy@example.com')).token
    now += 61_000 // past the one-mail-a-minute limit
    await post('request-password-reset', { email: 'cy@example.com' })
    const second = linkIn(await smtp.next('cy@example.com', 1)).token
    expectProblem(
      await post('reset-password', { token: first, password: 'a brand new password' }),
      400,
      'ER_AUTH_LINK_INVALID',
    )
    now += 31 * 60_000
    expectProblem(
      await post('reset-password', { token: second, password: 'a brand new password' }),
      400,
      'ER_AUTH_LINK_INVALID',
    )
  })

  it('mails at most once a minute per account and flow', async () => {
    await createRecord(t, 'users', { email: 'dee@example.com', password: PASSWORD })
    for (let i = 0; i < 5; i++)
      expect((await post('request-password-reset', { email: 'dee@example.com' })).statusCode).toBe(
        204,
      )
    await smtp.next('dee@example.com')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(smtp.mails.filter((m) => m.to.includes('dee@example.com'))).toHaveLength(1)
  })

  it('e-mail change: mailed to the new address, confirmed by its link', async () => {
    const eve = await createRecord(t, 'users', { email: 'eve@example.com', password: PASSWORD })
    const { token } = (await login('eve@example.com', PASSWORD)).json() as { token: string }
    expectProblem(
      await post('request-email-change', { newEmail: 'eve2@example.com' }),
      401,
      'ER_AUTH_REQUIRED',
    )
    const bad = await post('request-email-change', { newEmail: 'not an address' }, token)
    expect(expectProblem(bad, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('newEmail')
    expect(
      (await post('request-email-change', { newEmail: 'Eve2@example.com' }, token)).statusCode,
    ).toBe(204)
    const link = linkIn(await smtp.next('eve2@example.com'))
    expect(link).toMatchObject({ path: 'confirm-email-change' })
    expectProblem(await post('verify-email', { token: link.token }), 400, 'ER_AUTH_LINK_INVALID')
    // The link alone is not enough: the account's password too, and a wrong one spends nothing.
    const noPassword = await post('confirm-email-change', { token: link.token })
    expect(expectProblem(noPassword, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('password')
    expectProblem(
      await post('confirm-email-change', { token: link.token, password: 'not the password' }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    expect(await userById(eve.id as string)).toMatchObject({ email: 'eve@example.com' })
    expect(
      (await post('confirm-email-change', { token: link.token, password: PASSWORD })).statusCode,
    ).toBe(204)
    expect(await userById(eve.id as string)).toMatchObject({
      email: 'eve2@example.com',
      verified: true,
    })
    expect((await login('eve2@example.com', PASSWORD)).statusCode).toBe(200)
    expectProblem(await login('eve@example.com', PASSWORD), 400, 'ER_AUTH_INVALID_CREDENTIALS')
  })

  it('rejects missing, malformed and foreign tokens without a hint', async () => {
    expect(
      expectProblem(await post('verify-email', {}), 400, 'ER_VALIDATION_FAILED').errors,
    ).toHaveProperty('token')
    for (const token of ['erv_' + 'A'.repeat(43), 'erp_x', 'x'.repeat(500), 42]) {
      expectProblem(
        await post('verify-email', { token }),
        token === 42 ? 400 : 400,
        'ER_AUTH_LINK_INVALID',
      )
    }
    expect(
      expectProblem(
        await post('request-verification', { email: 'x'.repeat(300) }),
        400,
        'ER_VALIDATION_FAILED',
      ).errors,
    ).toHaveProperty('email')
  })
})
