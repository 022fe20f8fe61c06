/**
 * `/api/admin/settings` on both dialects: superusers only (a user and a superuser's API key get
 * 403), strict validation that changes nothing, environment-fixed keys refused with a problem
 * naming them, secrets write-only (never in a response, the audit log or a log line), and every
 * change applied without restart: a test mail reaches a real SMTP server on loopback, a CORS
 * origin answers the next preflight, a rate budget holds from the next request, and a second
 * engine on the same database applies a change made through the first.
 */
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { createSmtpMailer } from '../../src/adapters/mailer/smtp/smtp-mailer.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine } from '../../src/services/create-engine.js'
import type { SmtpSettings } from '../../src/services/settings/settings-applied.js'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

const SECRET = 'hunter2-very-secret-smtp-password'
const OAUTH_SECRET = 'oauth-client-secret-never-shown'
const PASSWORD = 'correct horse battery'
const APP = 'https://app.example.com'
const smtpMailer = (smtp: SmtpSettings) => createSmtpMailer({ server: smtp, from: smtp.from })

const open = { list: '', view: '', create: '', update: '', delete: '' }

for (const dialect of await availableDialects()) {
  describe(`admin settings (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    let sink: SmtpSink
    let userToken = ''
    let apiKey = ''
    const logLines: string[] = []
    const bodies: string[] = []
    const bus = createInProcessBus()

    const settings = async (payload?: unknown, headers: Record<string, string> = {}) => {
      const res = await t.call({
        method: payload === undefined ? 'GET' : 'PATCH',
        url: '/api/admin/settings',
        headers,
        ...(payload === undefined ? {} : { payload: payload as object }),
      })
      bodies.push(res.body)
      return res
    }

    beforeAll(async () => {
      sink = await startSmtpSink()
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString())
          done()
        },
      })
      t = await createTestEngine(dialect, {
        bus,
        logger: { level: 'trace', stream },
        rateLimit: { budgets: { read: { max: 1000, windowMs: 60_000 }, write: null, auth: null } },
        engine: { settings: { smtpMailer, recheckMs: 0 } },
      })
      await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: open })
      const created = await t.call({
        method: 'POST',
        url: '/api/collections/users/records',
        payload: { email: 'ann@example.com', password: PASSWORD },
      })
      expect(created.statusCode, created.body).toBe(201)
      const login = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: 'ann@example.com', password: PASSWORD },
        anonymous: true,
      })
      userToken = String(login.json().token)
      const key = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: {
          name: 'all',
          scopes: [{ collection: '*', operations: ['list', 'view', 'update'] }],
        },
      })
      expect(key.statusCode, key.body).toBe(201)
      apiKey = String(key.json().key)
    })
    afterAll(async () => {
      await t?.close()
      await sink?.close()
    })

    it('lists every setting with its source, defaults first', async () => {
      const res = await settings()
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      const body = res.json()
      expect(body['cors.origins']).toEqual({ source: 'default', value: null })
      expect(body['smtp.password']).toEqual({ source: 'default', secret: true, set: false })
      expect(Object.keys(body)).toContain('rateLimits.apiKeyWrite')
    })

    it.each([
      ['anonymous', {}, 401, 'ER_AUTH_REQUIRED'],
      ['a user', { user: true }, 403, 'ER_FORBIDDEN'],
      ['a superuser API key', { key: true }, 403, 'ER_FORBIDDEN'],
    ])('refuses %s', async (_who, as: { user?: boolean; key?: boolean }, status, code) => {
      const authorization = as.user ? `Bearer ${userToken}` : as.key ? `Bearer ${apiKey}` : ''
      for (const [method, url] of [
        ['GET', '/api/admin/settings'],
        ['PATCH', '/api/admin/settings'],
        ['POST', '/api/admin/settings/test-mail'],
      ] as const) {
        const res = await t.app.inject({
          method,
          url,
          headers: authorization ? { authorization } : {},
          ...(method === 'GET' ? {} : { payload: { 'cors.origins': [APP], to: 'a@b.example' } }),
        })
        expectProblem(res, status, code)
      }
      expect((await settings()).json()['cors.origins'].source).toBe('default')
    })

    it.each([
      [{ nope: 1 }, 'nope'],
      [{ 'smtp.port': 70000 }, 'smtp.port'],
      [{ 'smtp.port': '25' }, 'smtp.port'],
      [{ 'smtp.host': 'bad host\r\nRCPT TO:x' }, 'smtp.host'],
      [{ 'smtp.from': 'a@b.example\r\nBcc: c@d.example' }, 'smtp.from'],
      [{ 'smtp.secure': 'yes' }, 'smtp.secure'],
      [{ 'smtp.password': 'x'.repeat(300) }, 'smtp.password'],
      [{ 'cors.origins': ['*'] }, 'cors.origins.0'],
      [{ 'cors.origins': [`${APP}/path`] }, 'cors.origins.0'],
      [
        { 'cors.origins': Array.from({ length: 101 }, (_, i) => `https://a${i}.example`) },
        'cors.origins',
      ],
      [{ 'rateLimits.read': { max: 0, windowSeconds: 60 } }, 'rateLimits.read'],
      [{ 'rateLimits.read': { max: 5, windowSeconds: 60, extra: 1 } }, 'rateLimits.read'],
      [
        {
          'oauth.providers': [{ name: 'corp', collection: 'users', clientId: 'x', enabled: false }],
        },
        'oauth.providers.0.issuer',
      ],
      [
        {
          'oauth.providers': [
            {
              name: 'corp',
              collection: 'users',
              issuer: 'http://idp.example',
              clientId: 'x',
              enabled: false,
            },
          ],
        },
        'oauth.providers.0.issuer',
      ],
      [
        {
          'oauth.providers': [
            { name: 'corp', collection: 'users', preset: 'github', clientId: 'x', enabled: true },
          ],
        },
        'oauth.providers.0.clientSecret',
      ],
    ])('refuses %j naming %s, changing nothing', async (payload, field) => {
      // A valid key beside the bad one: all or nothing.
      const res = await settings({ 'smtp.user': 'changed', ...payload })
      const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
      expect(Object.keys(problem.errors ?? {})).toContain(field)
      expect((await settings()).json()['smtp.user'].source).toBe('default')
    })

    it('refuses a body that is not an object, or too large', async () => {
      expectProblem(await settings([1, 2]), 400, 'ER_VALIDATION_FAILED')
      const big = await settings({ 'smtp.user': 'x', pad: 'y'.repeat(70_000) })
      expect([400, 413]).toContain(big.statusCode)
      expect((await settings()).json()['smtp.user'].source).toBe('default')
    })

    it('delivers a test mail through SMTP settings saved a moment ago', async () => {
      const none = await t.call({
        method: 'POST',
        url: '/api/admin/settings/test-mail',
        payload: { to: 'ops@example.com' },
      })
      expectProblem(none, 503, 'ER_UNAVAILABLE')
      const port = Number(new URL(sink.url).port)
      const saved = await settings({
        'smtp.host': '127.0.0.1',
        'smtp.port': port,
        'smtp.secure': false,
        'smtp.from': 'Ops <ops@example.com>',
      })
      expect(saved.statusCode, saved.body).toBe(200)
      expect(saved.json()['smtp.port']).toEqual({ source: 'database', value: port })
      const bad = await t.call({
        method: 'POST',
        url: '/api/admin/settings/test-mail',
        payload: { to: 'ops@example.com\r\nBcc: x@y.example' },
      })
      expectProblem(bad, 400, 'ER_VALIDATION_FAILED')
      const sent = await t.call({
        method: 'POST',
        url: '/api/admin/settings/test-mail',
        payload: { to: 'ops@example.com' },
      })
      expect(sent.statusCode, sent.body).toBe(200)
      expect(sent.json()).toEqual({ sent: true, to: 'ops@example.com', via: 'settings' })
      const mail = await sink.next('ops@example.com')
      expect(mail.text).toContain('Subject: Engine Room test mail')
      expect(mail.text).toContain('From: Ops <ops@example.com>')
    })

    it('answers 502 without a secret when the SMTP server is gone', async () => {
      await settings({ 'smtp.port': 1, 'smtp.user': 'mailer', 'smtp.password': SECRET })
      const res = await t.call({
        method: 'POST',
        url: '/api/admin/settings/test-mail',
        payload: { to: 'ops@example.com' },
      })
      expectProblem(res, 502, 'ER_SETTINGS_TEST_MAIL_FAILED')
      bodies.push(res.body)
      await settings({ 'smtp.port': Number(new URL(sink.url).port), 'smtp.user': null })
    })

    it('keeps secrets write-only and clears them only when told', async () => {
      const set = await settings({ 'smtp.password': SECRET })
      expect(set.json()['smtp.password']).toEqual({ source: 'database', secret: true, set: true })
      // Another key's change keeps it.
      const other = await settings({ 'smtp.from': 'Ops <ops2@example.com>' })
      expect(other.json()['smtp.password'].set).toBe(true)
      const provider = {
        name: 'corp',
        collection: 'users',
        issuer: 'http://127.0.0.1:9/idp',
        clientId: 'engine-room',
        enabled: true,
      }
      const withProvider = await settings({
        'oauth.providers': [{ ...provider, clientSecret: OAUTH_SECRET }],
      })
      expect(withProvider.statusCode, withProvider.body).toBe(200)
      expect(withProvider.json()['oauth.providers'].value).toEqual([
        { ...provider, clientSecretSet: true },
      ])
      // Saved again without its secret (as the screen does): the secret stays.
      const again = await settings({ 'oauth.providers': [{ ...provider, enabled: false }] })
      expect(again.json()['oauth.providers'].value[0].clientSecretSet).toBe(true)
      const cleared = await settings({ 'smtp.password': null })
      expect(cleared.json()['smtp.password']).toEqual({
        source: 'default',
        secret: true,
        set: false,
      })
      const audit = await t.call({ method: 'GET', url: '/api/audit?perPage=200' })
      bodies.push(audit.body)
      const actions = (
        audit.json().items as { action: string; detail: { keys?: string[] } }[]
      ).filter((r) => r.action === 'settings.update')
      expect(actions.some((r) => r.detail.keys?.includes('smtp.password'))).toBe(true)
      for (const text of [...bodies, logLines.join('')]) {
        expect(text).not.toContain(SECRET)
        expect(text).not.toContain(OAUTH_SECRET)
      }
    })

    it('answers a CORS preflight from an origin added a moment ago', async () => {
      const preflight = () =>
        t.app.inject({
          method: 'OPTIONS',
          url: '/api/collections/users/records',
          headers: { origin: APP, 'access-control-request-method': 'GET' },
        })
      expect((await preflight()).headers['access-control-allow-origin']).toBeUndefined()
      await settings({ 'cors.origins': [APP] })
      expect((await preflight()).headers['access-control-allow-origin']).toBe(APP)
      await settings({ 'cors.origins': null })
      expect((await preflight()).headers['access-control-allow-origin']).toBeUndefined()
    })

    it('applies a rate budget from the next request', async () => {
      const hit = () =>
        t.app.inject({
          method: 'GET',
          url: '/api/collections/users/records',
          remoteAddress: '10.9.9.9',
        })
      for (let i = 0; i < 3; i++) expect((await hit()).statusCode).not.toBe(429)
      const saved = await settings({ 'rateLimits.read': { max: 2, windowSeconds: 60 } })
      expect(saved.json()['rateLimits.read']).toEqual({
        source: 'database',
        value: { max: 2, windowSeconds: 60 },
      })
      expect((await hit()).statusCode).not.toBe(429)
      expect((await hit()).statusCode).not.toBe(429)
      expectProblem(await hit(), 429, 'ER_RATE_LIMITED')
      await settings({ 'rateLimits.read': 'off' })
      for (let i = 0; i < 3; i++) expect((await hit()).statusCode).not.toBe(429)
      await settings({ 'rateLimits.read': null })
    })

    it('reaches a second engine on the same database, by bus and by poll', async () => {
      const nodes = []
      // One at a time: two SQLite opens at once race for the migration lock.
      for (const [i, o] of [
        { bus, recheckMs: 0 },
        { bus: createInProcessBus(), recheckMs: 100 },
      ].entries()) {
        nodes.push(
          await (async () => {
            const store = await t.openAnotherStore()
            const engine = await createEngine({
              store,
              migrationsDir: join(t.dir, `migrations-node-${i}`),
              passwords: testPasswords,
              bus: o.bus,
              settings: { recheckMs: o.recheckMs },
            })
            return { engine, app: await buildServer(engine, {}), bus: o.bus }
          })(),
        )
      }
      try {
        const origin = 'https://second.example'
        await settings({ 'cors.origins': [origin] })
        for (const node of nodes) {
          await expect
            .poll(
              async () =>
                (
                  await node.app.inject({
                    method: 'OPTIONS',
                    url: '/api/collections/users/records',
                    headers: { origin, 'access-control-request-method': 'GET' },
                  })
                ).headers['access-control-allow-origin'],
              { timeout: 5000 },
            )
            .toBe(origin)
        }
      } finally {
        for (const node of nodes) {
          await node.app.close()
          await node.engine.close()
          if (node.bus !== bus) await node.bus.close()
        }
        await settings({ 'cors.origins': null })
      }
    })
  })

  describe(`admin settings fixed by the environment (${dialect})`, { timeout: 60_000 }, () => {
    let t: TestEngine
    beforeAll(async () => {
      t = await createTestEngine(dialect, {
        engine: {
          settings: {
            environment: {
              fixed: { 'cors.origins': [APP], 'smtp.password': SECRET },
              defaults: { 'rateLimits.read': { max: 600, windowSeconds: 60 } },
            },
            recheckMs: 0,
          },
        },
      })
    })
    afterAll(async () => {
      await t?.close()
    })

    it('shows them with their variable and refuses to change them', async () => {
      const res = await t.call({ method: 'GET', url: '/api/admin/settings' })
      expect(res.json()['cors.origins']).toEqual({
        source: 'environment',
        variable: 'ER_CORS_ORIGINS',
        value: [APP],
      })
      expect(res.json()['smtp.password']).toEqual({
        source: 'environment',
        variable: 'ER_SMTP_URL',
        secret: true,
        set: true,
      })
      expect(res.json()['rateLimits.read'].value).toEqual({ max: 600, windowSeconds: 60 })
      expect(res.body).not.toContain(SECRET)
      const refused = await t.call({
        method: 'PATCH',
        url: '/api/admin/settings',
        payload: { 'cors.origins': [], 'smtp.user': 'x' },
      })
      const problem = expectProblem(refused, 409, 'ER_SETTING_FIXED')
      expect(problem.errors?.['cors.origins']?.[0]?.message).toContain('ER_CORS_ORIGINS')
      const cleared = await t.call({
        method: 'PATCH',
        url: '/api/admin/settings',
        payload: { 'smtp.password': null },
      })
      expectProblem(cleared, 409, 'ER_SETTING_FIXED')
      const after = (await t.call({ method: 'GET', url: '/api/admin/settings' })).json()
      expect(after['smtp.user'].source).toBe('default')
      expect(after['smtp.password'].set).toBe(true)
    })
  })
}
