/**
 * The career hub's public page in Debian's Chromium against a real `engineroom serve` on a
 * directory `engineroom init --template career-hub` filled, with the test payment provider: a
 * stranger browses, signs up, marks roadmap progress, reads the salaries chart, applies to a job,
 * builds a portfolio with a screenshot, and enrols in a class through the test provider's page.
 * Every step is checked through the API as well, and the enrolment exists exactly once.
 * Each screen is screenshotted under hub/e2e/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { runCli, startServerProcess, type ServerProcess } from '../helpers/server-process.js'

const runs = browserTestsRun()
const SHOTS = resolve('hub/e2e/screenshots')
const EMAIL = 'learner@example.com'
const PASSWORD = 'a long passphrase'

/**
 * What the page must keep: every form control labelled, and no layout shift (Chromium's
 * cumulative layout shift score of the screen loaded afresh; 0.1 is where "good" ends). A string
 * to evaluate: the tests' tsconfig has no DOM types.
 */
const PAGE_HEALTH = `(async () => {
  const shifts = await new Promise((done) => {
    let total = 0
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value
    }).observe({ type: 'layout-shift', buffered: true })
    setTimeout(() => done(total), 300)
  })
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter((c) => c.labels.length === 0 && !c.getAttribute('aria-label'))
    .map((c) => c.outerHTML)
  return { shifts, unlabelled }
})()`

describe.runIf(runs)(
  'career hub page: from sign-up to a paid enrolment',
  { timeout: 240_000 },
  () => {
    let server: ServerProcess
    let browser: Browser
    let page: Page
    const dir = mkdtempSync(join(tmpdir(), 'er-hub-'))
    const problems: string[] = []
    const failedRequests: string[] = []
    const shot = (name: string, on: Page = page) =>
      on.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
    /** The API as the signed-in learner, with the token the page holds. */
    const api = async <T>(path: string): Promise<T> => {
      const saved = await page.evaluate("sessionStorage.getItem('engineroom.hub.session')")
      const { token } = JSON.parse(String(saved)) as { token: string }
      const res = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status, path).toBe(200)
      return (await res.json()) as T
    }
    const expectHealthyPage = async () => {
      const health = (await page.evaluate(PAGE_HEALTH)) as { shifts: number; unlabelled: string[] }
      expect(health.unlabelled).toEqual([])
      expect(health.shifts).toBeLessThan(0.1)
    }

    beforeAll(async () => {
      if (!existsSync(resolve('hub/dist/index.html'))) {
        // CI builds it in `npm run build`; a checkout that has not built yet builds it here.
        const { build } = await import('vite')
        await build({
          root: resolve('hub'),
          configFile: resolve('hub/vite.config.ts'),
          logLevel: 'warn',
        })
      }
      mkdirSync(SHOTS, { recursive: true })
      const data = join(dir, 'data')
      const init = runCli(['init', '--template', 'career-hub', '--dir', data], {})
      expect(init.code, init.err).toBe(0)
      expect(init.out).toContain('/hub/')
      // As `npm run demo` serves it: with the template's extension that init wrote.
      const extension = join(data, 'extensions', 'career-hub.ts')
      expect(init.out).toContain(`--extensions ${extension}`)
      server = await startServerProcess(['--dir', data, '--extensions', extension], {
        ER_PAYMENTS_PROVIDER: 'test',
        ER_RATE_LIMIT_AUTH: 'off',
      })
      browser = await launchChromium()
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
      page.on('pageerror', (e) => problems.push(e.message))
      page.on('console', (m) => {
        // Failed requests are checked one by one below, by URL.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
          problems.push(m.text())
      })
      page.on('response', (r) => {
        if (r.status() >= 400) failedRequests.push(`${r.status()} ${new URL(r.url()).pathname}`)
      })
    })
    afterAll(async () => {
      await browser?.close()
      await server?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('shows the roadmap and skills to a stranger', async () => {
      await page.goto(`${server.url}/hub/`)
      await page.getByRole('heading', { name: 'Skills and the roadmap', level: 1 }).waitFor()
      await page.getByRole('heading', { name: /^1\. / }).waitFor()
      expect(await page.locator('.steps > li').count()).toBeGreaterThanOrEqual(4)
      expect(await page.getByRole('heading', { name: 'Databases' }).count()).toBe(1)
      expect(await page.getByText('PostgreSQL', { exact: true }).count()).toBeGreaterThan(0)
      expect(await page.getByText('Sign in to keep track of your progress.').count()).toBe(1)
      await expectHealthyPage()
      await shot('01-roadmap-stranger')
    })

    it('signs up through Engine Room auth and lands signed in', async () => {
      await page.getByRole('link', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Sign in or sign up' }).waitFor()
      // Keyboard focus follows the move, as a page load would.
      expect(await page.evaluate('document.activeElement.tagName')).toBe('H1')
      // A wrong password first: the server's answer, shown where the form is.
      await page.getByLabel('E-mail').first().fill(EMAIL)
      await page.getByLabel('Password', { exact: true }).fill('not the password')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await expect.poll(() => page.getByRole('alert').first().textContent()).toBeTruthy()
      await page.getByLabel('Your name').fill('Lee Learner')
      await page.getByLabel('E-mail').nth(1).fill(EMAIL)
      await page.getByLabel(/Choose a password/).fill(PASSWORD)
      await shot('02-sign-up')
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.getByRole('heading', { name: 'Skills and the roadmap' }).waitFor()
      await page.getByRole('link', { name: 'Lee Learner' }).waitFor()
      const saved = await page.evaluate("sessionStorage.getItem('engineroom.hub.session')")
      const { record } = JSON.parse(String(saved)) as { record: { id: string } }
      const me = await api<{ email: string; name: string }>(
        `/api/collections/users/records/${record.id}`,
      )
      expect(me).toMatchObject({ email: EMAIL, name: 'Lee Learner' })
    })

    it('records progress on the roadmap, kept per user', async () => {
      await page.getByLabel('Progress on step 1').selectOption('done')
      await page.getByText(/^1 of \d+ steps done\.$/).waitFor()
      await page.getByLabel('Progress on step 2').selectOption('started')
      await expect
        .poll(async () =>
          (await api<{ items: { status: string }[] }>('/api/collections/progress/records')).items
            .map((p) => p.status)
            .sort(),
        )
        .toEqual(['done', 'started'])
      // Still there after a reload (the session lives in this tab's sessionStorage).
      await page.reload()
      await page.getByText(/^1 of \d+ steps done\.$/).waitFor()
      expect(await page.getByLabel('Progress on step 2').inputValue()).toBe('started')
      await expectHealthyPage()
      await shot('03-roadmap-progress')
    })

    it('renews an expired access token with the refresh token, once', async () => {
      const before = failedRequests.length
      await page.evaluate(`(() => {
        const key = 'engineroom.hub.session'
        const session = JSON.parse(sessionStorage.getItem(key))
        sessionStorage.setItem(key, JSON.stringify({ ...session, token: 'expired' }))
      })()`)
      await page.reload()
      await page.getByText(/^1 of \d+ steps done\.$/).waitFor()
      const saved = await page.evaluate("sessionStorage.getItem('engineroom.hub.session')")
      expect((JSON.parse(String(saved)) as { token: string }).token).toMatch(/^ey/)
      // The refused requests were the expired token's, and nothing else.
      const refused = failedRequests.splice(before)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused.every((r) => r.startsWith('401 '))).toBe(true)
    })

    it('charts salaries by city in SVG, with the figures as a table', async () => {
      await page.getByRole('link', { name: 'Salaries' }).click()
      await page.getByRole('heading', { name: 'By city' }).waitFor()
      const byCity = await api<{ items: unknown[] }>(
        `/api/collections/salaries/records?filter=${encodeURIComponent('dimension = "location"')}`,
      )
      const chart = page.getByRole('img', { name: /^By city/ })
      expect(await chart.locator('g.row').count()).toBe(byCity.items.length)
      expect(await chart.locator('text', { hasText: 'San Francisco Bay Area' }).count()).toBe(1)
      await page.getByText('The figures').first().click()
      expect(await page.getByRole('cell', { name: '$220,000' }).count()).toBe(1)
      await expectHealthyPage()
      await shot('04-salaries')
    })

    it('applies to a job, once, and sees only its own application', async () => {
      await page.getByRole('link', { name: 'Jobs' }).click()
      const form = page.getByRole('form', { name: 'Apply to Junior Python developer' })
      await form.getByLabel('Cover letter').fill('I have built two Django services.')
      await form.getByRole('button', { name: 'Send application' }).click()
      await page.getByText(/^You applied on .*; status: submitted\.$/).waitFor()
      const mine = await api<{ items: { posting: string; letter: string }[] }>(
        '/api/collections/applications/records',
      )
      expect(mine.items).toHaveLength(1)
      expect(mine.items[0]).toMatchObject({ posting: 'po_civic_python' })
      await expectHealthyPage()
      await shot('05-jobs-applied')
    })

    it('builds a portfolio with a screenshot shown as its thumbnail', async () => {
      await page.getByRole('link', { name: 'Portfolio' }).click()
      await page.getByLabel('Headline').fill('Back-end developer in the making')
      await page.getByRole('button', { name: 'Create portfolio' }).click()
      await page.getByRole('heading', { name: /^Your portfolio: Back-end developer/ }).waitFor()
      const png = await sharp({
        create: { width: 1280, height: 800, channels: 3, background: '#2f6fb5' },
      })
        .png()
        .toBuffer()
      await page.getByLabel('Project title').fill('Permits API')
      await page.getByLabel('What you built and why').fill('A Django service with an audit trail.')
      await page
        .getByLabel(/^Screenshots/)
        .setInputFiles({ name: 'permits.png', mimeType: 'image/png', buffer: png })
      await page.getByRole('button', { name: 'Add project' }).click()
      const thumb = page.getByRole('img', { name: 'Screenshot of Permits API' }).first()
      await thumb.waitFor()
      await expect
        .poll(() =>
          thumb.evaluate((img) => {
            // The tests' tsconfig has no DOM types.
            const loaded = img as unknown as { complete: boolean; naturalWidth: number }
            return loaded.complete ? loaded.naturalWidth : 0
          }),
        )
        .toBe(320)
      expect(await thumb.getAttribute('src')).toContain('thumb=320x200')
      await expectHealthyPage()
      await shot('06-portfolio')
    })

    it('enrols in a class through the test provider, and the enrolment exists once', async () => {
      await page.getByRole('link', { name: 'Bootcamps' }).click()
      const card = page.locator('.card', { hasText: 'SQL in a weekend' })
      const enrol = card.getByRole('button', { name: 'Enrol for $149.00' })
      await shot('07-bootcamps')
      // The card fails first: nothing granted, and the next try is a new checkout (a new key).
      const [failing] = await Promise.all([page.waitForEvent('popup'), enrol.click()])
      await failing.getByRole('button', { name: 'Fail the payment' }).click()
      await expect.poll(() => failing.locator('#result').getAttribute('data-status')).toBe('failed')
      await failing.close()
      await card
        .getByText('The payment was failed. Nothing was charged; you can try again.')
        .waitFor()
      const failedId = new URL(failing.url()).pathname.split('/').pop()
      expect(
        (await api<{ items: unknown[] }>('/api/collections/enrolments/records')).items,
      ).toEqual([])
      const [checkoutPage] = await Promise.all([page.waitForEvent('popup'), enrol.click()])
      await checkoutPage.getByRole('heading', { name: 'Test checkout' }).waitFor()
      await checkoutPage.getByRole('button', { name: 'Pay', exact: true }).click()
      await expect
        .poll(() => checkoutPage.locator('#result').getAttribute('data-status'))
        .toBe('paid')
      expect(new URL(checkoutPage.url()).pathname).not.toContain(String(failedId))
      await shot('08-test-checkout-paid', checkoutPage)
      await checkoutPage.close()
      await card.getByText('Payment received: you are enrolled.').waitFor()
      await shot('09-enrolled')

      const enrolments = await api<{ items: { bootcamp: string; checkout: string }[] }>(
        '/api/collections/enrolments/records',
      )
      expect(enrolments.items).toHaveLength(1)
      expect(enrolments.items[0]?.bootcamp).toBe('bc_sql')
      const ledger = await api<{ items: { amount: number; kind?: string }[] }>(
        '/api/payments/ledger',
      )
      expect(ledger.items.map((e) => e.amount)).toEqual([14900])
      // Reloaded, the class shows as enrolled and offers no second purchase.
      await page.reload()
      await card.locator('[data-enrolment]').waitFor()
      expect(await card.getByRole('button').count()).toBe(0)
      expect(
        (await api<{ items: unknown[] }>('/api/collections/enrolments/records')).items,
      ).toHaveLength(1)
      expect(problems).toEqual([])
      // The only refused request of the whole walk is the wrong password the test typed.
      expect(failedRequests).toEqual(['400 /api/collections/users/auth/password'])
    })
  },
)
