/**
 * The records screen in Debian's Chromium against a real server: a record written in another
 * tab (and one written by an app through the API) appears without a reload, relation fields
 * are picked by searching the target collection, and a JSON field names its parse error's line
 * and column before anything is sent. axe finds nothing serious on any of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { browserTestsRun } from '../helpers/browser.js'
import {
  callApi,
  openDashboard,
  seriousA11yViolations,
  type DashboardSession,
} from '../helpers/dashboard-session.js'

const runs = browserTestsRun()
const open = { list: '', view: '', create: '', update: '', delete: '' }

describe.runIf(runs)(
  'dashboard: live records, relation pickers, JSON',
  { timeout: 240_000 },
  () => {
    let s: DashboardSession
    let other: Page
    const authors: Record<string, string> = {}

    beforeAll(async () => {
      s = await openDashboard()
      expect(
        (
          await callApi(s, 'POST', '/api/collections', {
            name: 'authors',
            type: 'base',
            fields: [{ name: 'name', type: 'text', required: true }],
            rules: open,
          })
        ).status,
      ).toBe(201)
      const books = await callApi(s, 'POST', '/api/collections', {
        name: 'books',
        type: 'base',
        fields: [
          { name: 'title', type: 'text', required: true },
          { name: 'author', type: 'relation', collection: 'authors', maxSelect: 1 },
          { name: 'reviewers', type: 'relation', collection: 'authors', maxSelect: 5 },
          { name: 'meta', type: 'json' },
        ],
        rules: open,
      })
      expect(books.status, JSON.stringify(books.body)).toBe(201)
      for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing']) {
        const res = await callApi(s, 'POST', '/api/collections/authors/records', { name })
        authors[name] = String(res.body.id)
      }
      // A CLI run, a server and Chromium from source: slow when other suites share the cores.
    }, 180_000)
    afterAll(async () => {
      await s?.close()
    })

    const rows = (page: Page) => page.locator('tbody tr')

    it('shows another tab’s write, and an app’s, without a reload', async () => {
      const { page } = s
      await page.goto(`${s.server.url}/_/#/collections/books`)
      await page.getByRole('heading', { name: 'books' }).waitFor()
      await expect.poll(() => page.getByTestId('live-state').textContent()).toBe('Live')
      await page.getByText('No records yet').waitFor()

      other = await s.openTab()
      await other.goto(`${s.server.url}/_/#/collections/books`)
      await other.getByRole('heading', { name: 'books' }).waitFor()
      await other.getByRole('button', { name: 'New record' }).click()
      await other.getByLabel('title *').fill('Notes on the Analytical Engine')
      await other.getByRole('button', { name: 'Create', exact: true }).click()
      await other.getByRole('cell', { name: 'Notes on the Analytical Engine' }).waitFor()

      // The first tab was never touched: the feed brought it.
      await page.getByRole('cell', { name: 'Notes on the Analytical Engine' }).waitFor()
      expect(await page.locator('.muted[aria-live]').textContent()).toMatch(/last change: create/)
      const fromApp = await callApi(s, 'POST', '/api/collections/books/records', {
        title: 'Computing Machinery and Intelligence',
      })
      expect(fromApp.status).toBe(201)
      await page.getByRole('cell', { name: 'Computing Machinery and Intelligence' }).waitFor()
      await callApi(s, 'DELETE', `/api/collections/books/records/${String(fromApp.body.id)}`)
      await expect.poll(() => rows(page).count()).toBe(1)
      await s.shot('30-records-live')
      expect(await seriousA11yViolations(page)).toEqual([])
    })

    it('picks relations by searching the target collection, by keyboard and by mouse', async () => {
      const page = other
      await page.getByRole('button', { name: 'New record' }).click()
      await page.getByLabel('title *').fill('Compilers')
      const author = page.getByRole('combobox', { name: 'author', exact: true })
      await author.fill('grace')
      const options = page.getByRole('option')
      await expect
        .poll(() => options.allTextContents())
        .toEqual([`Grace Hopper (${authors['Grace Hopper']})`])
      await author.press('ArrowDown')
      await author.press('Enter')
      await page
        .getByRole('button', { name: `Remove Grace Hopper (${authors['Grace Hopper']})` })
        .waitFor()
      const reviewers = page.getByRole('combobox', { name: 'reviewers' })
      await reviewers.fill('a')
      await page.getByRole('option', { name: /Ada Lovelace/ }).click()
      await reviewers.fill('turing')
      await page.getByRole('option', { name: /Alan Turing/ }).click()
      await reviewers.fill('')
      await s.shot('31-relation-picker', page)
      expect(await seriousA11yViolations(page)).toEqual([])

      // JSON: the error names line and column as it is typed, and stops the save.
      const meta = page.getByLabel('meta')
      await meta.fill('{\n  "pages": ,\n  "year": 1952\n}')
      const jsonError = page.locator('#input-meta-error')
      await expect.poll(() => jsonError.textContent()).toBe('Line 2, column 12: expected a value')
      expect(await meta.getAttribute('aria-invalid')).toBe('true')
      await page.getByRole('button', { name: 'Create', exact: true }).click()
      expect(await page.getByRole('form', { name: 'New record' }).count()).toBe(1)
      await s.shot('32-json-error', page)
      expect(await seriousA11yViolations(page)).toEqual([])
      await meta.fill('{"pages": 300, "year": 1952}')
      await expect.poll(() => jsonError.count()).toBe(0)
      await page.getByRole('button', { name: 'Format meta' }).click()
      expect(await meta.inputValue()).toBe('{\n  "pages": 300,\n  "year": 1952\n}')
      await page.getByRole('button', { name: 'Create', exact: true }).click()
      await page.getByRole('cell', { name: 'Compilers' }).waitFor()

      const list = await callApi(
        s,
        'GET',
        '/api/collections/books/records?filter=title%3D%22Compilers%22',
      )
      const [book] = list.body.items as Record<string, unknown>[]
      expect(book?.author).toBe(authors['Grace Hopper'])
      expect(book?.reviewers).toEqual([authors['Ada Lovelace'], authors['Alan Turing']])
      expect(book?.meta).toEqual({ pages: 300, year: 1952 })
      // And the first tab saw it arrive.
      await s.page.getByRole('cell', { name: 'Compilers' }).waitFor()
    })

    it('edits a record with its relations named and its JSON laid out', async () => {
      const page = other
      const row = page.locator('tbody tr', { hasText: 'Compilers' })
      await row.getByRole('button', { name: 'Edit' }).click()
      await page
        .getByRole('button', { name: `Remove Grace Hopper (${authors['Grace Hopper']})` })
        .waitFor()
      expect(await page.getByLabel('meta').inputValue()).toContain('"pages": 300')
      await page.getByRole('button', { name: /Remove Ada Lovelace/ }).click()
      await page.getByRole('button', { name: 'Save' }).click()
      await expect
        .poll(async () => {
          const list = await callApi(
            s,
            'GET',
            '/api/collections/books/records?filter=title%3D%22Compilers%22',
          )
          return (list.body.items as Record<string, unknown>[])[0]?.reviewers
        })
        .toEqual([authors['Alan Turing']])
      expect(s.problems).toEqual([])
    })
  },
)
