/**
 * The explorer on the real engine in Chromium: a superuser pastes a token, runs a query against
 * the generated schema, and browses a collection's type in the docs, with no console error or
 * CSP violation. (The explorer's own behaviours are covered against a toy schema beside this.)
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe.runIf(browserTestsRun())('the explorer on the real engine', () => {
  let t: TestEngine
  let browser: Browser | undefined
  let origin = ''
  beforeAll(async () => {
    t = await createTestEngine('sqlite')
    await createCollection(t, {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: null, update: null, delete: null },
    })
    await createRecord(t, 'posts', { title: 'from the engine' })
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await t.close()
  })

  it('runs a query with a token and shows the collection in the docs', async () => {
    const context = await browser!.newContext()
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${origin}/graphql`)
    await page.getByLabel('Authorization token', { exact: true }).fill(t.token)
    const query = page.getByLabel('Query', { exact: true })
    await query.fill('{ posts(sort: "title") { totalItems items { title } } }')
    await query.press('Control+Enter')
    // A locator wait runs in Playwright's own world: a string predicate would be eval'd in the
    // page, which the explorer's CSP (no 'unsafe-eval') refuses whenever it has to poll.
    await page.locator('#er-status').filter({ hasText: /^HTTP/ }).waitFor()
    const result = JSON.parse((await page.locator('#er-result').textContent()) ?? '')
    expect(result).toEqual({
      data: { posts: { totalItems: 1, items: [{ title: 'from the engine' }] } },
    })
    // The docs come from introspection of the live schema.
    await page.getByRole('button', { name: 'Docs' }).click()
    await page.locator('#er-type-list button[data-type="Post"]').click()
    const detail = page.locator('#er-type-detail')
    await expect(detail.locator('h3').textContent()).resolves.toBe('Post')
    await expect(detail.locator('[data-field="title"] .signature').textContent()).resolves.toBe(
      'title: String',
    )
    expect(problems).toEqual([])
    await context.close()
  })
})
