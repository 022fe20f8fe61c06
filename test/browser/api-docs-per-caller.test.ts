/**
 * The rendered descriptions in Chromium follow the caller: `/api/docs` (Swagger UI) and the
 * GraphQL explorer's docs first show what anonymous callers may use, then, once a superuser's
 * token is given, the superuser-only collection too; no console error or CSP violation.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe.runIf(browserTestsRun())('per-caller docs in the browser', () => {
  let t: TestEngine
  let browser: Browser | undefined
  let origin = ''
  beforeAll(async () => {
    t = await createTestEngine('sqlite')
    const closed = { list: null, view: null, create: null, update: null, delete: null }
    await createCollection(t, {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { ...closed, list: '', view: '' },
    })
    await createCollection(t, {
      name: 'ledger',
      fields: [{ name: 'amount', type: 'number' }],
      rules: closed,
    })
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t.close()
  })

  async function open(path: string): Promise<{ page: Page; problems: string[] }> {
    const page = await (await browser!.newContext()).newPage()
    const problems: string[] = []
    // Failed loads are judged by URL below: the browser's own /favicon.ico probe may 404.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        problems.push(m.text())
      }
    })
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(r.url())
    })
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${origin}${path}`)
    return { page, problems }
  }

  it('renders /api/docs for the token given to Authorize', async () => {
    const { page, problems } = await open('/api/docs')
    const tag = (name: string) => page.locator(`.opblock-tag[data-tag="${name}"]`)
    await tag('posts records').waitFor()
    expect(await tag('ledger records').count()).toBe(0)
    await page.locator('button.authorize').first().click()
    await page.locator('.auth-container input').first().fill(t.token)
    await page.locator('.auth-btn-wrapper button.authorize').click()
    await page.locator('.auth-btn-wrapper button.btn-done').click()
    await tag('ledger records').waitFor()
    expect(await tag('posts records').count()).toBe(1)
    expect(problems).toEqual([])
    await page.context().close()
  })

  it('reloads the explorer docs when the token changes', async () => {
    const { page, problems } = await open('/graphql')
    await page.getByRole('button', { name: 'Docs' }).click()
    const type = (name: string) => page.locator(`#er-type-list button[data-type="${name}"]`)
    await type('Post').waitFor()
    expect(await type('Ledger').count()).toBe(0)
    const token = page.getByLabel('Authorization token', { exact: true })
    await token.fill(t.token)
    await token.press('Tab')
    await type('Ledger').waitFor()
    expect(problems).toEqual([])
    await page.context().close()
  })
})
