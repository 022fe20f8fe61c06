/**
 * Mail templates over real SMTP: a superuser overrides the verification mail and a real
 * verification uses it; record values are escaped in HTML; preview; unknown variables refused
 * at PUT; users and narrow API keys refused; auth mails go through the job queue, so an SMTP
 * server that is down when the mail is asked for still delivers it once it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSmtpMailer } from '../../src/adapters/mailer/smtp/smtp-mailer.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'

describe.each(dialects)('mail templates on %s', (dialect) => {
  let t: TestEngine
  let smtp: SmtpSink
  const put = (name: string, payload: object) =>
    t.call({ method: 'PUT', url: `/api/mail-templates/${name}`, payload })
  const requestVerification = (email: string) =>
    t.call({
      method: 'POST',
      url: '/api/collections/users/auth/request-verification',
      payload: { email },
      anonymous: true,
    })

  beforeAll(async () => {
    smtp = await startSmtpSink()
    t = await createTestEngine(dialect, {
      engine: {
        mailer: createSmtpMailer({ url: smtp.url, from: 'Career Hub <no-reply@example.com>' }),
        appUrl: 'https://app.example.com',
        mailQueue: { backoffMs: 50, attempts: 10 },
        jobs: { pollMs: 20 },
      },
    })
    t.engine.jobs.startWorkers(1)
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

  it('lists the built-in templates and serves their defaults', async () => {
    const list = await t.call({ method: 'GET', url: '/api/mail-templates' })
    expect(list.statusCode).toBe(200)
    const names = (list.json().items as { name: string }[]).map((i) => i.name)
    expect(names).toEqual(
      expect.arrayContaining(['verification', 'password-reset', 'email-change']),
    )
    const one = await t.call({ method: 'GET', url: '/api/mail-templates/password-reset' })
    expect(one.json()).toMatchObject({
      name: 'password-reset',
      subject: 'Reset your password',
      builtIn: true,
      overridden: false,
    })
    expect(one.json().html).toContain('{{link}}')
    expectProblem(
      await t.call({ method: 'GET', url: '/api/mail-templates/nothing-here' }),
      404,
      'ER_MAIL_TEMPLATE_NOT_FOUND',
    )
  })

  it('an overridden template is used for a real verification mail, record values escaped', async () => {
    const res = await put('verification', {
      subject: 'Welcome {{record.name}}, verify {{email}}',
      html: '<p>Hello {{record.name}}</p><a href="{{link}}">Verify</a>',
      text: 'Hi {{record.name}}, open {{link}} within {{expiresIn}}. [{{record.password}}|{{record.tokenKey}}]',
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ overridden: true })
    await createRecord(t, 'users', {
      email: 'eve@example.com',
      password: PASSWORD,
      name: '<script>alert(1)</script>',
    })
    expect((await requestVerification('eve@example.com')).statusCode).toBe(204)
    const mail = await smtp.next('eve@example.com')
    expect(mail.raw).toMatch(
      /^Subject: Welcome <script>alert\(1\)<\/script>, verify eve@example.com/m,
    )
    expect(mail.text).toContain('<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>')
    expect(mail.text).not.toContain('<p>Hello <script>')
    // Secrets of the account are no template variables: they render empty.
    expect(mail.text).toContain('. [|]')
    expect(mail.text).not.toContain('$argon2')
    expect(mail.text).toMatch(
      /Hi <script>alert\(1\)<\/script>, open https:\/\/app\.example\.com\/auth\/verify-email#collection=users&token=erv_\S+ within 3 days\./,
    )
    // The HTML link escapes `&` as HTML does; it still opens the same address.
    expect(mail.text).toMatch(
      /href="https:\/\/app\.example\.com\/auth\/verify-email#collection=users&amp;token=erv_/,
    )
    const token = /&token=(erv_[A-Za-z0-9_-]+)/.exec(mail.text)?.[1] as string
    const verified = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/verify-email',
      payload: { token },
      anonymous: true,
    })
    expect(verified.statusCode).toBe(204)
    // The link is sealed in the job's payload: the jobs API never shows it.
    const jobs = await t.call({ method: 'GET', url: '/api/jobs?name=mail:send' })
    expect(jobs.statusCode).toBe(200)
    expect(jobs.body).toContain('eve@example.com')
    expect(jobs.body).not.toContain(token)
    expect(jobs.body).not.toContain('erv_')

    // Back to the default.
    expect(
      (await t.call({ method: 'DELETE', url: '/api/mail-templates/verification' })).statusCode,
    ).toBe(204)
    expect(
      (await t.call({ method: 'GET', url: '/api/mail-templates/verification' })).json(),
    ).toMatchObject({
      subject: 'Verify your e-mail',
      overridden: false,
    })
  })

  it('refuses an unknown variable, a bad name and oversized bodies, changing nothing', async () => {
    const before = (
      await t.call({ method: 'GET', url: '/api/mail-templates/password-reset' })
    ).json()
    const unknown = await put('password-reset', {
      subject: 'Reset',
      html: '<p>{{link}} {{ tokenn }}</p>',
      text: '{{link}}',
    })
    expectProblem(unknown, 400, 'ER_VALIDATION_FAILED')
    expect(unknown.json().detail).toContain('{{tokenn}}')
    expect(unknown.json().errors.html[0].code).toBe('unknown_variable')
    expectProblem(
      await put('password-reset', { subject: 'x', html: 'x'.repeat(100_001), text: '' }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expectProblem(
      await put('password-reset', { subject: 'a\r\nBcc: x@y.z', html: '', text: '' }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expectProblem(
      await put('password-reset', { subject: 'x', html: '' }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expectProblem(
      await put('Bad%20Name', { subject: 'x', html: '', text: '' }),
      400,
      'ER_VALIDATION_FAILED',
    )
    // A user-defined template knows only the variables it declares.
    const undeclared = await put('welcome', {
      subject: 'Hi {{name}}',
      html: '',
      text: '',
      variables: [],
    })
    expectProblem(undeclared, 400, 'ER_VALIDATION_FAILED')
    expect(undeclared.json().errors.subject[0].code).toBe('unknown_variable')
    expect(
      (await t.call({ method: 'GET', url: '/api/mail-templates/password-reset' })).json(),
    ).toEqual(before)
    expectProblem(
      await put('password-reset', { subject: 'x', html: '', text: '', variables: ['token'] }),
      400,
      'ER_VALIDATION_FAILED',
    )
    expectProblem(
      await t.call({ method: 'DELETE', url: '/api/mail-templates/password-reset' }),
      404,
      'ER_MAIL_TEMPLATE_NOT_FOUND',
    )
    expectProblem(
      await t.call({ method: 'GET', url: '/api/mail-templates/welcome' }),
      404,
      'ER_MAIL_TEMPLATE_NOT_FOUND',
    )
  })

  it('user-defined templates: preview with sample and given values, and send', async () => {
    const res = await put('welcome', {
      subject: 'Welcome, {{name}}',
      html: '<h1>Welcome, {{name}}</h1><p>{{plan}}</p>',
      text: 'Welcome, {{name}} ({{plan}})',
      variables: ['name', 'plan'],
    })
    expect(res.statusCode, res.body).toBe(200)
    const preview = await t.call({
      method: 'POST',
      url: '/api/mail-templates/welcome/preview',
      payload: { variables: { name: 'Ann & <Bob>' } },
    })
    expect(preview.statusCode, preview.body).toBe(200)
    expect(preview.json()).toEqual({
      subject: 'Welcome, Ann & <Bob>',
      html: '<h1>Welcome, Ann &amp; &lt;Bob&gt;</h1><p>[plan]</p>',
      text: 'Welcome, Ann & <Bob> ([plan])',
    })
    const builtIn = await t.call({
      method: 'POST',
      url: '/api/mail-templates/verification/preview',
    })
    expect(builtIn.json().html).toContain(
      'href="https://app.example.com/auth/verify-email#collection=users&amp;token=erv_sample"',
    )
    await t.engine.mail.send('welcome', 'zoe@example.com', { name: 'Zoe', plan: 'pro' })
    const mail = await smtp.next('zoe@example.com')
    expect(mail.raw).toMatch(/^Subject: Welcome, Zoe/m)
    expect(mail.text).toContain('<h1>Welcome, Zoe</h1><p>pro</p>')
  })

  it('403 for users and for API keys without the "*" scope', async () => {
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD, name: 'Ann' })
    const login = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: PASSWORD },
      anonymous: true,
    })
    const userToken = login.json().token as string
    const key = async (scopes: object[]) => {
      const created = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: { name: 'k', scopes, expiresInDays: 1 },
      })
      expect(created.statusCode, created.body).toBe(201)
      return created.json().key as string
    }
    const narrow = await key([{ collection: 'users', operations: ['list', 'view', 'update'] }])
    const readAll = await key([{ collection: '*', operations: ['list', 'view'] }])
    const as = (token: string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
      t.call({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      })
    const body = { subject: 'Pwned', html: '', text: '' }
    expect(
      (await t.call({ method: 'GET', url: '/api/mail-templates', anonymous: true })).statusCode,
    ).toBe(401)
    for (const token of [userToken, narrow]) {
      expectProblem(await as(token, 'GET', '/api/mail-templates'), 403, 'ER_FORBIDDEN')
      expectProblem(await as(token, 'GET', '/api/mail-templates/verification'), 403, 'ER_FORBIDDEN')
      expectProblem(
        await as(token, 'POST', '/api/mail-templates/verification/preview'),
        403,
        'ER_FORBIDDEN',
      )
      expectProblem(
        await as(token, 'PUT', '/api/mail-templates/verification', body),
        403,
        'ER_FORBIDDEN',
      )
    }
    const userDoc = (await as(userToken, 'GET', '/api/openapi.json')).json()
    expect(Object.keys(userDoc.paths)).not.toContain('/api/mail-templates')
    const doc = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/mail-templates', '/api/mail-templates/{name}/preview']),
    )
    expect((await as(readAll, 'GET', '/api/mail-templates/verification')).statusCode).toBe(200)
    expectProblem(
      await as(readAll, 'PUT', '/api/mail-templates/verification', body),
      403,
      'ER_FORBIDDEN',
    )
    expect(
      (await t.call({ method: 'GET', url: '/api/mail-templates/verification' })).json().subject,
    ).toBe('Verify your e-mail')
  })

  it('SMTP down, then up: the queued mail arrives after retries', async () => {
    const port = Number(new URL(smtp.url).port)
    await smtp.close()
    let failures = 0
    t.engine.jobs.onOutcome((name, outcome) => {
      if (name === 'mail:send' && outcome === 'failed') failures++
    })
    await createRecord(t, 'users', { email: 'max@example.com', password: PASSWORD, name: 'Max' })
    expect((await requestVerification('max@example.com')).statusCode).toBe(204)
    for (let i = 0; failures === 0 && i < 250; i++) await new Promise((r) => setTimeout(r, 20))
    expect(failures).toBeGreaterThan(0)
    smtp = await startSmtpSink(port)
    const mail = await smtp.next('max@example.com')
    expect(mail.raw).toMatch(/^Subject: Verify your e-mail/m)
    expect(mail.text).toMatch(/token=erv_/)
  })
})
