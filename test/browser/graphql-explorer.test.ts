/**
 * The GraphQL explorer in a real browser (Debian's Chromium, driven by playwright-core), under the
 * server's real Content-Security-Policy: it loads with no console error or CSP violation, runs an
 * operation with variables from the keyboard, sends the bearer token, browses the schema, and
 * refuses to send invalid variables.
 *
 * Skipped when /usr/bin/chromium is missing, unless ER_REQUIRE_BROWSER=1 (CI), which fails instead.
 */
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
// The CommonJS build, the one Node (and so graphql-http) loads: Vite would otherwise resolve bare
// `graphql` to the ESM build, and two copies of graphql refuse each other's schemas.
import { buildSchema } from 'graphql/index.js'
import { createHandler } from 'graphql-http/lib/use/fastify'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explorerAssetRoutes, explorerHtml } from '../../src/http/graphql/explorer.js'
import { registerSecurityHeaders } from '../../src/http/plugins/security-headers.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'

const runs = browserTestsRun()

const schema = buildSchema(`
  """A book on the shelf."""
  type Book {
    id: ID!
    title: String!
    pages: Int
    author: Author
  }

  type Author {
    name: String!
  }

  type Query {
    "Greets whoever is named."
    hello(name: String): String
    books(limit: Int = 10): [Book!]!
  }
`)

const rootValue = {
  hello: ({ name }: { name?: string | null }) => `Hello, ${name ?? 'world'}!`,
  books: ({ limit }: { limit: number }) =>
    [{ id: '1', title: 'Dune', pages: 412, author: { name: 'Frank Herbert' } }].slice(0, limit),
}

/** What the server saw of each POST /graphql, in order. */
interface ReceivedRequest {
  authorization: string | undefined
  contentType: string | undefined
  accept: string | undefined
  body: unknown
}

/** The app as `buildServer` would wire it: real security headers, explorer, graphql-http. */
async function buildToyServer(received: ReceivedRequest[]): Promise<FastifyInstance> {
  const app = Fastify()
  app.removeContentTypeParser(['text/plain'])
  await registerSecurityHeaders(app, { corsOrigins: undefined, corsCredentials: undefined })
  await app.register(explorerAssetRoutes)
  const graphql = createHandler({ schema, rootValue })
  const wantsPage = (request: FastifyRequest) =>
    String(request.headers.accept).includes('text/html') &&
    (request.query as { query?: string }).query === undefined
  // The page gets the document security headers, as graphql-routes.ts marks it.
  app.get('/graphql', { config: { htmlDocument: wantsPage } }, async (request, reply) => {
    if (wantsPage(request)) {
      return reply.type('text/html; charset=utf-8').send(explorerHtml({ endpoint: '/graphql' }))
    }
    return graphql.call(app, request, reply)
  })
  app.post('/graphql', async (request, reply) => {
    received.push({
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      accept: request.headers.accept,
      body: request.body,
    })
    return graphql.call(app, request, reply)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return app
}

describe.runIf(runs)('GraphQL explorer in Chromium', () => {
  const received: ReceivedRequest[] = []
  let app: FastifyInstance | undefined
  let browser: Browser | undefined
  let origin = ''

  beforeAll(async () => {
    app = await buildToyServer(received)
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  /**
   * A fresh context (so fresh storage) on the explorer page, collecting console errors, page
   * errors and CSP violations; `problems()` lists them all.
   */
  async function openExplorer(viewport = { width: 1280, height: 800 }) {
    const context = await browser!.newContext({ viewport })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    // Injected by the browser itself, so the page's CSP does not stop it.
    await page.addInitScript({
      content: `window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (event) => {
          window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI)
        })`,
    })
    const response = await page.goto(`${origin}/graphql`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.getByRole('button', { name: 'Run' }).waitFor()
    return {
      page,
      async problems(): Promise<string[]> {
        const csp = (await page.evaluate('window.__cspViolations')) as string[]
        return [...problems, ...csp.map((violation) => `CSP: ${violation}`)]
      },
      close: () => context.close(),
    }
  }

  /** The result pane's status line once a run has finished. */
  async function finishedStatus(page: Page): Promise<string> {
    // A locator wait runs in Playwright's own world: a string predicate would be eval'd in the
    // page, which the explorer's CSP (no 'unsafe-eval') refuses whenever it has to poll.
    await page.locator('#er-status').filter({ hasText: /^HTTP/ }).waitFor()
    return (await page.locator('#er-status').textContent()) ?? ''
  }

  it('loads under the real CSP with no console error and no violation', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    await expect(page.title()).resolves.toBe('GraphQL explorer · Engine Room')
    for (const label of ['Query', 'Variables (JSON)', 'Authorization token']) {
      await expect(page.getByLabel(label, { exact: true }).isVisible()).resolves.toBe(true)
    }
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('runs an operation with variables on Ctrl+Enter and shows the pretty result', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    const before = received.length
    const query = page.getByLabel('Query', { exact: true })
    await query.fill('query Greet($name: String) {\n  hello(name: $name)\n}\n')
    await page.getByLabel('Variables (JSON)').fill('{ "name": "Ada" }')
    await query.press('Control+Enter')

    expect(await finishedStatus(page)).toMatch(/^HTTP 200 OK · \d+ ms$/)
    const result = (await page.locator('#er-result').textContent()) ?? ''
    expect(JSON.parse(result)).toEqual({ data: { hello: 'Hello, Ada!' } })
    expect(result).toContain('\n  "data": {') // indented, not one line

    expect(received).toHaveLength(before + 1)
    const sent = received.at(-1)!
    expect(sent.contentType).toBe('application/json')
    expect(sent.accept).toBe('application/graphql-response+json, application/json')
    expect(sent.body).toMatchObject({ variables: { name: 'Ada' } })
    expect(sent.authorization).toBeUndefined()
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('runs the operation under the cursor when the document holds several', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    const query = page.getByLabel('Query', { exact: true })
    // `fill` leaves the cursor at the end, inside `Second`.
    await query.fill(
      'query First { hello }\n# query Commented { hello }\nquery Second {\n  hello(name: "B")\n}',
    )
    await query.press('Control+Enter')

    expect(await finishedStatus(page)).toMatch(/^HTTP 200/)
    expect(received.at(-1)?.body).toMatchObject({ operationName: 'Second' })
    expect(JSON.parse((await page.locator('#er-result').textContent()) ?? '')).toEqual({
      data: { hello: 'Hello, B!' },
    })
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('sends the token as a bearer Authorization header and keeps it in sessionStorage only', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    await page.getByLabel('Authorization token').fill('secret-token-123')
    await page.getByLabel('Query', { exact: true }).fill('{ books { title author { name } } }')
    await page.getByRole('button', { name: 'Run' }).click()

    expect(await finishedStatus(page)).toMatch(/^HTTP 200/)
    expect(JSON.parse((await page.locator('#er-result').textContent()) ?? '')).toEqual({
      data: { books: [{ title: 'Dune', author: { name: 'Frank Herbert' } }] },
    })
    expect(received.at(-1)?.authorization).toBe('Bearer secret-token-123')
    const stored = (await page.evaluate(
      `[JSON.stringify(sessionStorage), JSON.stringify(localStorage)]`,
    )) as [string, string]
    expect(stored[0]).toContain('secret-token-123')
    expect(stored[1]).not.toContain('secret-token-123')
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('documents the schema: search, open a type, follow a field type', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    const docsButton = page.getByRole('button', { name: 'Docs' })
    await docsButton.click()
    await expect(docsButton.getAttribute('aria-expanded')).resolves.toBe('true')
    await page.locator('#er-type-list button[data-type="Query"]').waitFor()

    await page.getByLabel('Search types').fill('book')
    const listed = await page
      .locator('#er-type-list button[data-type]')
      .evaluateAll((buttons) => buttons.map((button) => button.getAttribute('data-type')))
    // `Book` by name, `Query` through its `books` field; `Author` filtered out.
    expect(listed).toEqual(['Query', 'Book'])

    await page.locator('#er-type-list button[data-type="Book"]').click()
    const detail = page.locator('#er-type-detail')
    await expect(detail.locator('h3').textContent()).resolves.toBe('Book')
    await expect(detail.textContent()).resolves.toContain('A book on the shelf.')
    await expect(detail.locator('[data-field="title"] .signature').textContent()).resolves.toBe(
      'title: String!',
    )
    await detail.locator('[data-field="author"]').getByRole('button', { name: 'Author' }).click()
    await expect(detail.locator('h3').textContent()).resolves.toBe('Author')
    await expect(detail.locator('[data-field="name"] .signature').textContent()).resolves.toBe(
      'name: String!',
    )

    await detail.getByRole('button', { name: '← All types' }).click()
    await page.getByLabel('Search types').fill('')
    await page.locator('#er-type-list button[data-type="Query"]').click()
    // Query has no description and no enum values: nothing stands in for them.
    await expect(detail.textContent()).resolves.not.toContain('null')
    const hello = detail.locator('[data-field="hello"]')
    await expect(hello.locator('.signature').textContent()).resolves.toBe('hello(…): String')
    await expect(hello.locator('.argument').textContent()).resolves.toBe('name: String')
    await expect(hello.textContent()).resolves.toContain('Greets whoever is named.')
    await expect(detail.locator('[data-field="books"] .argument').textContent()).resolves.toBe(
      'limit: Int = 10',
    )
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('explains invalid variables JSON and sends nothing', async () => {
    const explorer = await openExplorer()
    const { page } = explorer
    const before = received.length
    const sentFromPage: string[] = []
    page.on('request', (request) => {
      if (request.method() === 'POST') sentFromPage.push(request.url())
    })
    await page
      .getByLabel('Query', { exact: true })
      .fill('query Greet($name: String) { hello(name: $name) }')
    const variables = page.getByLabel('Variables (JSON)')
    await variables.fill('{ "name": ')
    await variables.press('Control+Enter')

    const alert = page.getByRole('alert')
    await alert.waitFor()
    await expect(alert.textContent()).resolves.toMatch(/^Variables are not valid JSON: /)
    await expect(variables.getAttribute('aria-invalid')).resolves.toBe('true')
    await expect(page.locator('#er-status').textContent()).resolves.toBe(
      'Not sent: fix the variables first.',
    )

    await variables.fill('[1, 2]')
    await page.getByRole('button', { name: 'Run' }).click()
    await expect(alert.textContent()).resolves.toBe(
      'Variables must be a JSON object, for example {"id": "1"}.',
    )
    // Give a stray request time to arrive before asserting that none did.
    await page.waitForTimeout(200)
    expect(sentFromPage).toEqual([])
    expect(received).toHaveLength(before)

    await variables.fill('{ "name": "Grace" }')
    await expect(variables.getAttribute('aria-invalid')).resolves.toBeNull()
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })

  it('fits a narrow screen without horizontal scrolling', async () => {
    const explorer = await openExplorer({ width: 360, height: 740 })
    const { page } = explorer
    await page.getByRole('button', { name: 'Docs' }).click()
    await page.locator('#er-type-list button[data-type="Book"]').waitFor()
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )) as number
    expect(overflow).toBeLessThanOrEqual(0)
    expect(await explorer.problems()).toEqual([])
    await explorer.close()
  })
})
