/**
 * The GraphQL explorer (GraphiQL in the dashboard) in Debian's Chromium against a real server:
 * its code is not part of the dashboard's first load and is fetched when the explorer opens; a
 * superuser types a query with completion of a collection name, runs it and sees the data, sees
 * a live change through a subscription; a stranger opening /graphql runs queries anonymously and
 * its docs show only what anonymous callers may use. All of it under the server's CSP, with no
 * violation reported, no console error, and nothing serious for axe.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun } from '../helpers/browser.js'
import {
  callApi,
  openDashboard,
  seriousA11yViolations,
  type DashboardSession,
} from '../helpers/dashboard-session.js'

const runs = browserTestsRun()

/** GraphiQL's code: the lazily loaded chunk (and the CodeMirror pieces it pulls in). */
const EXPLORER_CHUNK = /\/_\/assets\/graphql-explorer-[\w-]+\.(js|css)$/

/**
 * Reports every CSP violation of the pages of the context as a console error, which the session
 * collects in `problems`: an init script runs before the page's own and is not subject to its CSP.
 */
const REPORT_CSP_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.effectiveDirective + ' blocked ' + e.blockedURI)
})`

/** The text of the CodeMirror 5 editor under `selector` (CodeMirror keeps itself on its node). */
async function editorText(page: Page, selector: string): Promise<string> {
  return page
    .locator(`${selector} .CodeMirror`)
    .evaluate((node) =>
      (node as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue(),
    )
}

/** Replaces the query editor's text by typing `text`, as a user would. */
async function typeQuery(page: Page, text: string): Promise<void> {
  await page.locator('.graphiql-query-editor .CodeMirror').click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Backspace')
  await page.keyboard.type(text)
}

describe.runIf(runs)('dashboard: the GraphQL explorer', { timeout: 240_000 }, () => {
  let s: DashboardSession
  const requested: string[] = []

  beforeAll(async () => {
    s = await openDashboard()
    await s.context.addInitScript(REPORT_CSP_VIOLATIONS)
    s.context.on('request', (request) => requested.push(request.url()))
    const closed = { list: null, view: null, create: null, update: null, delete: null }
    const posts = await callApi(s, 'POST', '/api/collections', {
      name: 'posts',
      fields: [{ name: 'title', type: 'text' }],
      rules: { ...closed, list: '', view: '' },
    })
    expect(posts.status, JSON.stringify(posts.body)).toBe(201)
    const ledger = await callApi(s, 'POST', '/api/collections', {
      name: 'ledger',
      fields: [{ name: 'amount', type: 'number' }],
      rules: closed,
    })
    expect(ledger.status, JSON.stringify(ledger.body)).toBe(201)
    for (const title of ['first post', 'second post']) {
      expect((await callApi(s, 'POST', '/api/collections/posts/records', { title })).status).toBe(
        201,
      )
    }
    expect(
      (await callApi(s, 'POST', '/api/collections/ledger/records', { amount: 42 })).status,
    ).toBe(201)
    // A CLI run, a server and Chromium from source: slow when other suites share the cores.
  }, 180_000)
  afterAll(async () => {
    await s?.close()
  })

  it('leaves GraphiQL out of the first load: neither in index.html nor requested before it opens', async () => {
    const index = readFileSync(resolve('admin/dist/index.html'), 'utf8')
    const initial = [...index.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '')
    expect(initial.some((url) => url.includes('/_/assets/index-'))).toBe(true)
    expect(initial.filter((url) => url.includes('graphql-explorer'))).toEqual([])
    // The dashboard was loaded and signed in to; a reload loads it again, watched from the start.
    requested.length = 0
    await s.page.reload()
    await s.page.getByRole('heading', { name: 'Collections' }).waitFor()
    await s.page.waitForLoadState('networkidle')
    expect(requested.some((url) => url.includes('/_/assets/index-'))).toBe(true)
    expect(requested.filter((url) => EXPLORER_CHUNK.test(url))).toEqual([])
    // GraphiQL asks for the schema as it opens; the server loads graphql-js for that first
    // GraphQL request, so it may come after the editor shows (completion needs it).
    const schemaFetched = s.page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/graphql' && r.request().method() === 'POST',
    )
    await s.page.getByRole('link', { name: 'GraphQL', exact: true }).click()
    await s.page.locator('.graphiql-container').waitFor()
    expect((await schemaFetched).status()).toBe(200)
    expect(requested.filter((url) => EXPLORER_CHUNK.test(url)).length).toBeGreaterThan(0)
    expect(await s.page.title()).toBe('GraphQL explorer · Engine Room')
  })

  it('completes a collection name, runs the query as the superuser and shows the data', async () => {
    const { page } = s
    await typeQuery(page, '{ po')
    const hints = page.locator('.CodeMirror-hints')
    await hints.getByText('posts', { exact: true }).waitFor()
    await page.keyboard.press('Enter')
    expect(await editorText(page, '.graphiql-query-editor')).toMatch(/^\{ posts\b/)
    await page.keyboard.type('(sort: "title") { items { title } ')
    await page.keyboard.press('Control+Enter')
    await expect
      .poll(() => editorText(page, '.graphiql-response'))
      .toContain('"title": "second post"')
    const result = JSON.parse(await editorText(page, '.graphiql-response'))
    expect(result).toEqual({
      data: { posts: { items: [{ title: 'first post' }, { title: 'second post' }] } },
    })
    // The superuser-only collection is in this caller's schema.
    await typeQuery(page, '{ ledger { items { amount ')
    await page.keyboard.press('Control+Enter')
    await expect.poll(() => editorText(page, '.graphiql-response')).toContain('"amount": 42')
    await s.shot('graphql-explorer')
    expect(s.problems).toEqual([])
    expect(await seriousA11yViolations(page)).toEqual([])
  })

  it('shows a live change through a subscription (graphql-ws)', async () => {
    const { page } = s
    await typeQuery(page, 'subscription { postsChanges { action record { title ')
    await page.keyboard.press('Control+Enter')
    // GraphiQL shows the subscription running (its button turns into a stop button).
    await page.getByRole('button', { name: /stop/i }).waitFor()
    await expect
      .poll(async () => {
        await callApi(s, 'POST', '/api/collections/posts/records', { title: 'live post' })
        return editorText(page, '.graphiql-response')
      })
      .toContain('"title": "live post"')
    expect(await editorText(page, '.graphiql-response')).toContain('"action": "CREATE"')
    await page.getByRole('button', { name: /stop/i }).click()
    expect(s.problems).toEqual([])
  })

  it('opens from /graphql for a stranger, who runs queries and reads docs as anonymous', async () => {
    const context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.addInitScript(REPORT_CSP_VIOLATIONS)
    const problems: string[] = []
    const page = await context.newPage()
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    await page.goto(`${s.server.url}/graphql`)
    expect(page.url()).toBe(`${s.server.url}/_/#/graphql`)
    await page.locator('.graphiql-container').waitFor()
    await page.getByText('Running anonymously.').waitFor()
    await typeQuery(page, '{ posts { totalItems ')
    await page.keyboard.press('Control+Enter')
    await expect.poll(() => editorText(page, '.graphiql-response')).toContain('"totalItems"')
    // The docs list the anonymous caller's schema: posts, and not the superuser-only ledger.
    await page.getByRole('button', { name: /show documentation explorer/i }).click()
    const docs = page.locator('.graphiql-doc-explorer')
    await docs.getByText('Query', { exact: true }).click()
    await docs.getByText('posts', { exact: true }).first().waitFor()
    expect(await docs.getByText('ledger', { exact: true }).count()).toBe(0)
    await page.screenshot({ path: resolve('admin/e2e/screenshots/graphql-explorer-anonymous.png') })
    expect(await seriousA11yViolations(page)).toEqual([])
    expect(problems).toEqual([])
    // The listener reports a violation when there is one: an image from elsewhere is refused.
    await page.evaluate(
      "document.body.append(Object.assign(document.createElement('img'), { src: 'https://engineroom.invalid/probe.png' }))",
    )
    await expect.poll(() => problems.join('\n')).toMatch(/CSP violation: img-src/)
    await context.close()
  })
})
