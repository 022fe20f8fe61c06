/**
 * Every e-mail flow end to end in Debian's Chromium: the mail arrives over real SMTP, its link
 * opens the server's own page (no ER_APP_URL set: the links point at this server), and the page
 * finishes the flow through the public API, showing the server's own field errors.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSmtpMailer } from '../../src/adapters/mailer/smtp/smtp-mailer.js'
import { createCollection } from '../helpers/api-assertions.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { seriousA11yViolations } from '../helpers/dashboard-session.js'
import { freePort } from '../helpers/server-process.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const runs = browserTestsRun()
const PASSWORD = 'a long enough password'

describe.runIf(runs)('e-mail link pages in Chromium', { timeout: 120_000 }, () => {
  let t: TestEngine
  let smtp: SmtpSink
  let browser: Browser
  let base = ''
  const post = (path: string, payload: object, token?: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/collections/members/auth/${path}`,
      payload,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })
  /** The link of the latest mail to `to`, checked to point at this server. */
  async function linkTo(to: string, after: number): Promise<string> {
    const mail = await smtp.next(to, after)
    expect(mail.text).toMatch(/expires in (3 days|30 minutes|1 hour)\./)
    const link = /(http:\/\/\S+\/auth\/[a-z-]+#collection=members&token=[A-Za-z0-9_-]+)/.exec(
      mail.text,
    )?.[1]
    if (!link) throw new Error(`no link in:\n${mail.text}`)
    expect(link.startsWith(`${base}/auth/`)).toBe(true)
    return link
  }
  async function open(link: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage()
    const problems: string[] = []
    // A 400 from the API is logged by Chromium as a failed resource: expected, not a fault.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        problems.push(m.text())
      }
    })
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(link)
    // The token leaves the address bar (and history) once the page has read it.
    await expect.poll(() => page.url()).not.toContain('token=')
    // Pages people reach from a mail: nothing serious or critical for axe either.
    expect(await seriousA11yViolations(page), link.split('?')[0]).toEqual([])
    ;(page as Page & { problems: string[] }).problems = problems
    return page
  }

  beforeAll(async () => {
    smtp = await startSmtpSink()
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    t = await createTestEngine('sqlite', {
      engine: { mailer: createSmtpMailer({ url: smtp.url, from: 'er@example.com' }), appUrl: base },
    })
    await t.app.listen({ host: '127.0.0.1', port })
    await createCollection(t, { name: 'members', type: 'auth', fields: [] })
    await t.call({
      method: 'POST',
      url: '/api/collections/members/records',
      payload: { email: 'ann@example.com', password: PASSWORD },
    })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t?.close()
    await smtp?.close()
  })

  it('verifies an e-mail from the link', async () => {
    await post('request-verification', { email: 'ann@example.com' })
    const page = await open(await linkTo('ann@example.com', 0))
    await page.getByRole('button', { name: 'Verify my e-mail' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('is verified')
    const login = await post('password', { identity: 'ann@example.com', password: PASSWORD })
    expect(login.json().record.verified).toBe(true)
    await page.close()
  })

  it('resets a password, showing the server field error for a bad one first', async () => {
    const sent = smtp.mails.length
    await post('request-password-reset', { email: 'ann@example.com' })
    const page = await open(await linkTo('ann@example.com', sent))
    await page.getByLabel('New password', { exact: true }).fill('short')
    await page.getByLabel('New password again').fill('short')
    // The browser's own minlength check would stop the form; the server's rule is what we test.
    await page.locator('form').evaluate((form) => form.setAttribute('novalidate', ''))
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^password: /)
    await page.getByLabel('New password', { exact: true }).fill('a brand new passphrase')
    await page.getByLabel('New password again').fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Set the new password' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('password is changed')
    const login = await post('password', {
      identity: 'ann@example.com',
      password: 'a brand new passphrase',
    })
    expect(login.statusCode).toBe(200)
    expect((page as Page & { problems: string[] }).problems).toEqual([])
    await page.close()
  })

  it('confirms an e-mail change only with the account password', async () => {
    const login = await post('password', {
      identity: 'ann@example.com',
      password: 'a brand new passphrase',
    })
    const sent = smtp.mails.filter((m) => m.to.includes('ann.new@example.com')).length
    const asked = await post(
      'request-email-change',
      { newEmail: 'ann.new@example.com' },
      login.json().token,
    )
    expect(asked.statusCode).toBe(204)
    const page = await open(await linkTo('ann.new@example.com', sent))
    await page.getByLabel('Current password').fill('not the password')
    await page.getByRole('button', { name: 'Confirm the new e-mail' }).click()
    await expect.poll(() => page.getByRole('status').getAttribute('class')).toBe('error')
    await page.getByLabel('Current password').fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Confirm the new e-mail' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('address is changed')
    const moved = await post('password', {
      identity: 'ann.new@example.com',
      password: 'a brand new passphrase',
    })
    expect(moved.statusCode).toBe(200)
    await page.close()
  })

  it('says what to do when the link is incomplete', async () => {
    const page = await (await browser.newContext()).newPage()
    await page.goto(`${base}/auth/reset-password`)
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Copy the whole link')
    expect(await seriousA11yViolations(page)).toEqual([])
    expect(await page.locator('form').isHidden()).toBe(true)
    await page.close()
  })
})
