/**
 * The first hour in Debian's Chromium against a real `engineroom serve` on a fresh directory:
 * the printed setup link creates the first superuser, who signs in to the dashboard, creates a
 * collection with fields and a rule (seeing the server's rule error first), adds records through
 * the generated form (seeing an inline validation error first), and filters the grid.
 * Each screen is screenshotted under admin/e2e/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { authenticator } from 'otplib'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { seriousA11yViolations } from '../helpers/dashboard-session.js'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

const runs = browserTestsRun()
const SHOTS = resolve('admin/e2e/screenshots')
const EMAIL = 'owner@example.com'
const PASSWORD = 'a long passphrase'

describe.runIf(runs)('dashboard: the first hour', { timeout: 240_000 }, () => {
  let server: ServerProcess
  let browser: Browser
  let page: Page
  const dir = mkdtempSync(join(tmpdir(), 'er-dashboard-'))
  const problems: string[] = []
  /** Each screen is screenshotted, and axe must find nothing serious or critical on it. */
  const shot = async (name: string) => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
    expect(await seriousA11yViolations(page), name).toEqual([])
  }

  beforeAll(async () => {
    if (!existsSync(resolve('admin/dist/index.html'))) {
      // CI builds it in `npm run build`; a checkout that has not built yet builds it here.
      const { build } = await import('vite')
      await build({
        root: resolve('admin'),
        configFile: resolve('admin/vite.config.ts'),
        logLevel: 'warn',
      })
    }
    mkdirSync(SHOTS, { recursive: true })
    server = await startServerProcess(['--dir', join(dir, 'data')], { ER_RATE_LIMIT_AUTH: 'off' })
    browser = await launchChromium()
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => {
      // A 400 the test provokes is logged by Chromium as a failed resource: expected.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(m.text())
    })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('creates the first superuser from the printed setup link', async () => {
    const link = /(http:\/\/\S+\/_\/setup#token=ers_[A-Za-z0-9_-]+)/.exec(server.output())?.[1]
    expect(link, server.output()).toBeDefined()
    await page.goto(link!)
    await expect.poll(() => page.url()).not.toContain('token=')
    await page.getByLabel('E-mail').fill(EMAIL)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByLabel('Password again').fill(PASSWORD)
    await shot('01-setup')
    await page.getByRole('button', { name: 'Create superuser' }).click()
    await page.waitForURL(/\/_\/$/)
    // The link is spent: opening it again creates nobody.
    const again = await fetch(`${server.url}/api/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: new URL(link!).hash.slice(7),
        email: 'x@example.com',
        password: PASSWORD,
      }),
    })
    expect(again.status).toBe(403)
  })

  it('signs in, with a wrong password refused first', async () => {
    await page.getByLabel('E-mail').fill(EMAIL)
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toBeTruthy()
    await page.getByLabel('Password').fill(PASSWORD)
    await shot('02-sign-in')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Collections' }).waitFor()
    // A fresh data directory comes with the users collection.
    await page.getByRole('link', { name: 'users', exact: true }).waitFor()
    // The first run points at the example app; this database holds none, so no link to its page.
    expect(await page.locator('#template-hint').textContent()).toContain(
      'init --template career-hub',
    )
    expect(await page.locator('#hub-link').count()).toBe(0)
    await shot('03-collections')
  })

  it('creates a collection with fields, after the server points at a broken rule', async () => {
    await page.getByRole('link', { name: 'New collection' }).click()
    await page.getByLabel('Name', { exact: true }).first().fill('posts')
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.locator('#field-0-name').fill('title')
    await page.getByLabel('Required').first().check()
    await page.locator('#field-0-max').fill('50')
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.locator('#field-1-name').fill('views')
    await page.locator('#field-1-type').selectOption('number')
    await page.locator('#field-1-min').fill('0')
    await page.getByLabel('list rule', { exact: true }).check()
    await page.getByRole('textbox', { name: 'list rule' }).fill('title = ')
    // Checked as typed (the server's dry run), before any save.
    const ruleError = page.locator('#rule-list-error')
    await expect.poll(() => ruleError.textContent()).toMatch(/position \d+/i)
    await shot('04-rule-error')
    await page.getByRole('textbox', { name: 'list rule' }).fill('views > "a"')
    await expect.poll(() => ruleError.textContent()).toMatch(/position 0: cannot compare number/)
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.getByRole('heading', { name: 'New collection' }).count()).toBe(1)
    await page.getByRole('textbox', { name: 'list rule' }).fill('title != ""')
    await expect.poll(() => ruleError.textContent()).toBe('')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('heading', { name: 'posts' }).waitFor()
    // The dashboard's own token reads the schema back (a string: the tests have no DOM types).
    const token = await page.evaluate("sessionStorage.getItem('engineroom.token')")
    const schema = (await (
      await fetch(`${server.url}/api/collections/posts`, {
        headers: { authorization: `Bearer ${String(token)}` },
      })
    ).json()) as { fields: { name: string; type: string }[]; rules: { list: string | null } }
    expect(schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['title:text', 'views:number'])
    expect(schema.rules.list).toBe('title != ""')
  })

  it('adds records through the form, showing the inline error for a bad value', async () => {
    await page.getByRole('button', { name: 'New record' }).click()
    await page.getByLabel('title *').fill('Hello')
    await page.getByLabel('views').fill('-5')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    const inline = page.locator('#input-views-error')
    await inline.waitFor()
    expect(await inline.textContent()).toMatch(/0/)
    expect(await page.getByLabel('views').getAttribute('aria-invalid')).toBe('true')
    await shot('05-record-form-error')
    await page.getByLabel('views').fill('42')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    await page.getByRole('cell', { name: 'Hello' }).waitFor()
    await page.getByRole('button', { name: 'New record' }).click()
    await page.getByLabel('title *').fill('World')
    await page.getByLabel('views').fill('7')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    await page.getByRole('cell', { name: 'World' }).waitFor()
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2)
  })

  it('filters the grid, and shows a filter error as the server words it', async () => {
    await page.getByLabel('Filter').fill('views >')
    await page.getByRole('button', { name: 'Apply' }).click()
    await page.locator('#filter-error').waitFor()
    await page.getByLabel('Filter').fill('views > 10')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1)
    expect(await page.locator('tbody').textContent()).toContain('Hello')
    expect(await page.locator('#filter-error').count()).toBe(0)
    await shot('06-records-filtered')
  })

  it('lists users and signs out', async () => {
    await page.getByRole('link', { name: 'Users' }).click()
    await page.getByRole('heading', { name: 'Users' }).waitFor()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    expect(problems).toEqual([])
  })

  it('asks a superuser with TOTP on for the code, and signs in with it', async () => {
    const base = `${server.url}/api/collections/_superusers/auth`
    const call = async (path: string, body: object, token?: string) =>
      fetch(`${base}/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      })
    const signedIn = await call('password', { identity: EMAIL, password: PASSWORD })
    const { token } = (await signedIn.json()) as { token: string }
    const { secret } = (await (await call('mfa/totp', {}, token)).json()) as { secret: string }
    const code = (steps: number) =>
      authenticator.clone({ epoch: Date.now() + steps * 30_000 }).generate(secret)
    expect((await call('mfa/totp/confirm', { code: code(0) }, token)).status).toBe(200)

    await page.getByLabel('E-mail').fill(EMAIL)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByLabel('Code').waitFor()
    await shot('07-totp-challenge')
    // The enrolment's code cannot be replayed; the next step's (drift allowance) signs in.
    await page.getByLabel('Code').fill(code(1))
    await page.getByRole('button', { name: 'Verify' }).click()
    // Back on the screen the hash names (Users, where the last session ended).
    await page.getByRole('heading', { name: 'Users' }).waitFor()
    // A string: the test's own tsconfig has no DOM types.
    expect(await page.evaluate("sessionStorage.getItem('engineroom.token')")).toMatch(/^ey/)
    expect(problems).toEqual([])
  })
})
