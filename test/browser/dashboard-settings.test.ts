/**
 * The Settings screen in Debian's Chromium against a real `engineroom serve`, driven by the
 * keyboard: save SMTP settings (with a password that never comes back), send a test mail that
 * a real SMTP server on loopback receives (no restart), see a CORS list fixed by the
 * environment read-only with its variable, and axe finds no violation at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun } from '../helpers/browser.js'
import { callApi, openDashboard, type DashboardSession } from '../helpers/dashboard-session.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { AxeBuilder } from '@axe-core/playwright'

const runs = browserTestsRun()
const SECRET = 'browser-smtp-secret-value'

describe.runIf(runs)('dashboard: settings', { timeout: 240_000 }, () => {
  let s: DashboardSession
  let sink: SmtpSink

  beforeAll(async () => {
    sink = await startSmtpSink()
    s = await openDashboard({ ER_CORS_ORIGINS: 'https://fixed.example' })
  }, 180_000)
  afterAll(async () => {
    await s?.close()
    await sink?.close()
  })

  it('saves SMTP settings by keyboard and sends a test mail through them', async () => {
    const { page } = s
    await page.getByRole('link', { name: 'Settings' }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Settings' }).waitFor()
    await page.getByLabel('Host').focus()
    await page.keyboard.type('127.0.0.1')
    await page.keyboard.press('Tab')
    await page.keyboard.type(new URL(sink.url).port)
    await page.getByLabel('From address').focus()
    // It shows the sender in force (the default): replaced, not appended to.
    await page.keyboard.press('Control+A')
    await page.keyboard.type('Ops <ops@example.com>')
    await page.getByLabel('Password', { exact: true }).focus()
    await page.keyboard.type(SECRET)
    await page.getByRole('button', { name: 'Save mail settings' }).focus()
    await page.keyboard.press('Enter')
    await page.getByText('Mail settings saved; in force now.').waitFor()
    await expect
      .poll(() => page.getByLabel('Password', { exact: true }).getAttribute('placeholder'))
      .toBe('A password is set: type to replace it')
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('')
    // Clearing a secret is explicit: a box to tick, not an empty field.
    await page.getByLabel('Clear the saved password').check()
    await page.getByRole('button', { name: 'Save mail settings' }).click()
    await expect
      .poll(() => page.getByLabel('Password', { exact: true }).getAttribute('placeholder'))
      .toBe('No password set')
    await page.getByLabel('Send a test mail to').focus()
    await page.keyboard.type('ops@example.com')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.getByText('Test mail sent to ops@example.com.').waitFor()
    const mail = await sink.next('ops@example.com')
    expect(mail.text).toContain('Engine Room test mail')
    expect(mail.text).toContain('From: Ops <ops@example.com>')
    expect(await page.content()).not.toContain(SECRET)
    const api = await callApi(s, 'GET', '/api/admin/settings')
    expect(JSON.stringify(api.body)).not.toContain(SECRET)
  })

  it('shows a setting fixed by the environment read-only, with its variable', async () => {
    const { page } = s
    const origins = page.getByLabel('Allowed origins (one per line)')
    expect(await origins.inputValue()).toBe('https://fixed.example')
    expect(await origins.getAttribute('readonly')).not.toBeNull()
    await page.getByText('ER_CORS_ORIGINS').first().waitFor()
    expect(await page.getByRole('button', { name: 'Save CORS' }).count()).toBe(0)
  })

  it('names the field of a refused value', async () => {
    const { page } = s
    await page.getByLabel('Port', { exact: true }).fill('70000')
    await page.getByRole('button', { name: 'Save mail settings' }).click()
    await page.getByText('must be a whole number from 1 to 65535').first().waitFor()
    expect(await page.getByLabel('Port', { exact: true }).getAttribute('aria-invalid')).toBe('true')
    const after = await callApi(s, 'GET', '/api/admin/settings')
    expect((after.body['smtp.port'] as { value: number }).value).toBe(
      Number(new URL(sink.url).port),
    )
  })

  it('has no accessibility violation and no page error', async () => {
    const { page } = s
    await page.getByRole('button', { name: 'Add provider' }).click()
    await page.getByLabel('Client ID').waitFor()
    await s.shot('70-settings')
    const result = await new AxeBuilder({ page }).analyze()
    expect(result.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([])
    expect(s.problems).toEqual([])
  })
})
