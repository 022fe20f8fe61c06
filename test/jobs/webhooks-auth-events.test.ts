/**
 * Webhooks for auth events: a webhook on an auth collection lists `signUp`, `signIn`,
 * `passwordReset` or `emailVerified` like record actions; each message verifies with the
 * `standardwebhooks` package, carries `{ collection, action, record }`, and never a password
 * (plain or hashed), token key, session token or e-mailed link token. A second auth collection's
 * events stay out, a filter picks accounts, and a base collection cannot list auth events.
 */
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSmtpMailer } from '../../src/adapters/mailer/smtp/smtp-mailer.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { waitFor } from '../helpers/jobs-engine.js'
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { startReceiver, type Received, type Receiver } from '../helpers/webhook-receiver.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'
const NEW_PASSWORD = 'another long password'

const tokenIn = (mail: ReceivedMail): string => {
  const match = /token=([A-Za-z0-9_-]+)/.exec(mail.text)
  if (!match) throw new Error(`no link in mail:\n${mail.text}`)
  return match[1] as string
}

describe.each(dialects)('webhooks for auth events on %s', (dialect) => {
  let t: TestEngine
  let smtp: SmtpSink
  let sink: Receiver
  const post = (collection: string, path: string, payload: object) =>
    t.app.inject({ method: 'POST', url: `/api/collections/${collection}/auth/${path}`, payload })

  beforeAll(async () => {
    smtp = await startSmtpSink()
    sink = await startReceiver()
    t = await createTestEngine(dialect, {
      engine: {
        mailer: createSmtpMailer({ url: smtp.url, from: 'no-reply@example.com' }),
        appUrl: 'https://app.example.com',
        jobs: { pollMs: 20 },
        webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 50 },
      },
    })
    for (const name of ['members', 'staff']) {
      await createCollection(t, {
        name,
        type: 'auth',
        fields: [
          { name: 'name', type: 'text' },
          { name: 'note', type: 'text', hidden: true },
        ],
      })
    }
    await createCollection(t, {
      name: 'posts',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
    })
    t.engine.jobs.startWorkers(4)
  })
  afterAll(async () => {
    await t?.close()
    await smtp?.close()
    await sink?.close()
  })

  const subscribe = async (payload: object) => {
    const res = await t.call({ method: 'POST', url: '/api/webhooks', payload })
    expect(res.statusCode, res.body).toBe(201)
    const hook = res.json() as { id: string; secret: string; url: string }
    paths.set(hook.id, new URL(hook.url).pathname.slice(1))
    return hook
  }
  /** Messages to the webhook `hook`, by the path its URL ends with (`/<hook id>`). */
  const paths = new Map<string, string>()
  const messagesTo = (hook: string) =>
    sink.received.filter((r) => r.url === `/${paths.get(hook) ?? '?'}`)
  const verified = (secret: string, message: Received) =>
    new Webhook(secret).verify(message.body, message.headers as Record<string, string>) as {
      collection: string
      action: string
      record: Record<string, unknown>
    }

  it('sign-up, sign-in, e-mail verification and password reset each send one signed message', async () => {
    const all = await subscribe({
      url: `${sink.url}/all`,
      collection: 'members',
      actions: ['signUp', 'signIn', 'passwordReset', 'emailVerified'],
    })
    const annOnly = await subscribe({
      url: `${sink.url}/ann`,
      collection: 'members',
      actions: ['signIn'],
      filter: 'name = "Ann"',
    })
    const staffHook = await subscribe({
      url: `${sink.url}/staff`,
      collection: 'staff',
      actions: ['create'],
    })

    const ann = await createRecord(t, 'members', {
      email: 'ann@example.com',
      password: PASSWORD,
      name: 'Ann',
      note: 'kept for superusers',
    })
    await createRecord(t, 'members', { email: 'bob@example.com', password: PASSWORD, name: 'Bob' })
    await createRecord(t, 'staff', { email: 'sam@example.com', password: PASSWORD })
    const secrets: string[] = []
    for (const [collection, identity] of [
      ['members', 'ann@example.com'],
      ['members', 'bob@example.com'],
      ['staff', 'sam@example.com'],
    ] as const) {
      const login = await post(collection, 'password', { identity, password: PASSWORD })
      expect(login.statusCode).toBe(200)
      secrets.push(login.json().token as string, login.json().refreshToken as string)
    }
    // A wrong password is no sign-in.
    const wrong = await post('members', 'password', {
      identity: 'ann@example.com',
      password: 'not the password',
    })
    expect(wrong.statusCode).toBe(400)

    expect(
      (await post('members', 'request-verification', { email: 'ann@example.com' })).statusCode,
    ).toBe(204)
    const verifyToken = tokenIn(await smtp.next('ann@example.com'))
    expect((await post('members', 'verify-email', { token: verifyToken })).statusCode).toBe(204)
    expect(
      (await post('members', 'request-password-reset', { email: 'bob@example.com' })).statusCode,
    ).toBe(204)
    const resetToken = tokenIn(await smtp.next('bob@example.com'))
    const reset = await post('members', 'reset-password', {
      token: resetToken,
      password: NEW_PASSWORD,
    })
    expect(reset.statusCode).toBe(204)
    secrets.push(verifyToken, resetToken, PASSWORD, NEW_PASSWORD)

    // signUp ×2, signIn ×2, emailVerified, passwordReset on `all`; Ann's sign-in on `ann`;
    // Sam's create on `staff` (the staff sign-in is not a subscribed action anywhere).
    await waitFor(() => messagesTo(all.id).length >= 6, 15_000, 'six messages')
    await waitFor(() => messagesTo(annOnly.id).length >= 1 && messagesTo(staffHook.id).length >= 1)
    await new Promise((r) => setTimeout(r, 300))
    const bodies = messagesTo(all.id).map((m) => verified(all.secret, m))
    const seen = bodies.map((b) => `${b.action} ${String(b.record.email)}`).sort()
    expect(seen).toEqual([
      'emailVerified ann@example.com',
      'passwordReset bob@example.com',
      'signIn ann@example.com',
      'signIn bob@example.com',
      'signUp ann@example.com',
      'signUp bob@example.com',
    ])
    for (const body of bodies) {
      expect(body.collection).toBe('members')
      expect(Object.keys(body.record)).not.toContain('password')
      expect(Object.keys(body.record)).not.toContain('tokenKey')
    }
    expect(bodies.find((b) => b.action === 'emailVerified')?.record).toMatchObject({
      id: ann.id,
      verified: true,
      name: 'Ann',
    })
    // Each message has its own webhook-id.
    expect(new Set(messagesTo(all.id).map((m) => m.headers['webhook-id'])).size).toBe(6)
    expect(messagesTo(annOnly.id).map((m) => verified(annOnly.secret, m).record.email)).toEqual([
      'ann@example.com',
    ])
    expect(messagesTo(staffHook.id).map((m) => verified(staffHook.secret, m).action)).toEqual([
      'create',
    ])

    // No secret in any message, nor in the delivery log: tokens, link tokens, passwords, and
    // the stored hashes and token keys (read straight from the store).
    const rows = await t.engine.store.selectByIds(t.engine.registry.get('members'), [
      ann.id as string,
    ])
    secrets.push(String(rows[0]?.password), String(rows[0]?.tokenKey))
    const log = await t.call({ method: 'GET', url: `/api/webhooks/${all.id}/deliveries` })
    const everything = [...sink.received.map((m) => m.body), log.body].join('\n')
    for (const secret of secrets) expect(everything).not.toContain(secret)
    expect(everything).not.toContain('$argon2')
  })

  it('auth events need an auth collection; an unknown action names the field', async () => {
    for (const [collection, actions] of [
      ['posts', ['signIn']],
      ['members', ['login']],
      ['members', []],
    ] as const) {
      const res = await t.call({
        method: 'POST',
        url: '/api/webhooks',
        payload: { url: `${sink.url}/x`, collection, actions },
      })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(Object.keys(res.json().errors)).toEqual(['actions'])
    }
    const before = (await t.call({ method: 'GET', url: '/api/webhooks' })).json().items.length
    // Changing a webhook to a base collection while it lists auth events is refused too.
    const hook = await subscribe({
      url: `${sink.url}/y`,
      collection: 'members',
      actions: ['signIn'],
    })
    const moved = await t.call({
      method: 'PATCH',
      url: `/api/webhooks/${hook.id}`,
      payload: { collection: 'posts' },
    })
    expect(moved.statusCode).toBe(400)
    expect(Object.keys(moved.json().errors)).toEqual(['actions'])
    const after = await t.call({ method: 'GET', url: `/api/webhooks/${hook.id}` })
    expect(after.json().collection).toBe('members')
    expect((await t.call({ method: 'GET', url: '/api/webhooks' })).json().items.length).toBe(
      before + 1,
    )
  })
})
