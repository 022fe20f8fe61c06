/**
 * What the dashboard's browser suites share: the build (made here when a checkout has none), a
 * real `engineroom serve` with a superuser, Debian's Chromium signed in to `/_/`, screenshots
 * under admin/e2e/screenshots/, and an axe audit that fails on any serious or critical finding.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium } from './browser.js'
import { runCli, startServerProcess, type ServerProcess } from './server-process.js'

export const SCREENSHOTS = resolve('admin/e2e/screenshots')
export const ADMIN_EMAIL = 'admin@example.com'
export const ADMIN_PASSWORD = 'a long passphrase'

export async function ensureAdminBuilt(): Promise<void> {
  if (existsSync(resolve('admin/dist/index.html'))) return
  // CI builds it in `npm run build`; a checkout that has not built yet builds it here.
  const { build } = await import('vite')
  await build({
    root: resolve('admin'),
    configFile: resolve('admin/vite.config.ts'),
    logLevel: 'warn',
  })
}

export interface DashboardSession {
  server: ServerProcess
  browser: Browser
  context: BrowserContext
  page: Page
  dir: string
  /** Page errors and console errors seen so far (a failed resource load is expected). */
  problems: string[]
  /** A superuser token of its own, for the test's API calls. */
  token: string
  /** Opens another tab of the same browser, signed in (sessionStorage is per tab). */
  openTab(): Promise<Page>
  shot(name: string, page?: Page): Promise<void>
  close(): Promise<void>
}

/** A server on a fresh directory with one superuser, and a Chromium tab signed in to `/_/`. */
export async function openDashboard(env: Record<string, string> = {}): Promise<DashboardSession> {
  await ensureAdminBuilt()
  mkdirSync(SCREENSHOTS, { recursive: true })
  const dir = mkdtempSync(join(tmpdir(), 'er-dash-'))
  const data = join(dir, 'data')
  mkdirSync(data)
  const created = runCli(['superuser', 'create', ADMIN_EMAIL, ADMIN_PASSWORD, '--dir', data], {})
  if (created.code !== 0) throw new Error(`superuser create failed: ${created.err}`)
  const server = await startServerProcess(['--dir', data], {
    ER_RATE_LIMIT_AUTH: 'off',
    ER_LOG_LEVEL: 'info',
    ...env,
  })
  const browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const problems: string[] = []
  const watch = (page: Page) => {
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(m.text())
    })
  }
  const signIn = async (page: Page) => {
    watch(page)
    await page.goto(`${server.url}/_/`)
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL)
    await page.getByLabel('Password').fill(ADMIN_PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Collections' }).waitFor()
  }
  const page = await context.newPage()
  await signIn(page)
  const login = await fetch(`${server.url}/api/collections/_superusers/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  return {
    server,
    browser,
    context,
    page,
    dir,
    problems,
    token,
    async openTab() {
      const tab = await context.newPage()
      await signIn(tab)
      return tab
    },
    async shot(name, target = page) {
      await target.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
    },
    async close() {
      await browser.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * axe-core's rules on the page as it is now; the serious and critical findings, each as
 * `rule: target …`, so a failing assertion says what to fix.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze()
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

/** An API call as the superuser of `session`; JSON in and out. */
export async function callApi(
  session: Pick<DashboardSession, 'server' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${session.server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${session.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}
