/**
 * The dashboard's Metrics and Logs screens in Debian's Chromium against a real server: traffic
 * made from outside shows on the charts, the log viewer narrows to a level, a status, a route
 * and one request id, no page has a serious or critical axe finding, and the first load stays
 * under 400 KB of gzipped JavaScript.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun } from '../helpers/browser.js'
import {
  callApi,
  openDashboard,
  seriousA11yViolations,
  type DashboardSession,
} from '../helpers/dashboard-session.js'

const runs = browserTestsRun()

describe.runIf(runs)('dashboard: metrics and logs', { timeout: 240_000 }, () => {
  let s: DashboardSession

  beforeAll(async () => {
    s = await openDashboard()
    // A CLI run, a server and Chromium from source: slow when other suites share the cores.
  }, 180_000)
  afterAll(async () => {
    await s?.close()
  })

  it('loads under 400 KB of gzipped JavaScript', () => {
    const html = readFileSync(resolve('admin/dist/index.html'), 'utf8')
    const scripts = [...html.matchAll(/(?:src|href)="\/_\/(assets\/[^"]+\.js)"/g)].map((m) => m[1])
    expect(scripts.length).toBeGreaterThan(0)
    const gzipped = scripts.reduce(
      (n, file) => n + gzipSync(readFileSync(resolve('admin/dist', file!))).length,
      0,
    )
    expect(gzipped).toBeLessThan(400 * 1024)
  })

  it('shows the traffic just made on the charts', async () => {
    const { page } = s
    const created = await callApi(s, 'POST', '/api/collections', {
      name: 'pings',
      type: 'base',
      fields: [{ name: 'n', type: 'number' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    expect(created.status).toBe(201)
    const made = 60
    for (let i = 0; i < made; i++) {
      await fetch(`${s.server.url}/api/collections/pings/records?perPage=5`)
    }
    // Two 404s, with a request id to find them by in the log viewer.
    for (const id of ['find-me-1', 'find-me-2']) {
      await fetch(`${s.server.url}/api/collections/pings/records/missing`, {
        headers: { 'x-request-id': id },
      })
    }
    await page.getByRole('link', { name: 'Metrics' }).first().click()
    await page.getByRole('heading', { name: 'Metrics' }).waitFor()
    const requests = page.getByTestId('requests-hour')
    await expect.poll(async () => Number(await requests.textContent())).toBeGreaterThan(made)
    // The requests-per-second chart drew the interval under way, above zero.
    await expect
      .poll(() => page.getByTestId('chart-rps-now').textContent())
      .toMatch(/^[\d.]+ req\/s$/)
    expect(
      Number((await page.getByTestId('chart-rps-now').textContent())?.split(' ')[0]),
    ).toBeGreaterThan(0)
    expect(await page.locator('#chart-p95').getAttribute('aria-label')).toMatch(/now [\d.]+ ms/)
    for (const chart of ['rps', 'p95', 'errors', 'lag', 'realtime']) {
      expect(await page.locator(`#chart-${chart}`).count()).toBe(1)
    }
    await s.shot('20-metrics')
    expect(await seriousA11yViolations(page)).toEqual([])
  })

  it('filters the log by status and request id, and shows a bad filter as the server words it', async () => {
    const { page } = s
    await page.getByRole('link', { name: 'Logs' }).first().click()
    await page.getByRole('heading', { name: 'Logs' }).waitFor()
    const rows = page.locator('table.logs tbody tr')
    await expect.poll(() => rows.count()).toBeGreaterThan(60)
    await page.getByLabel('Status').fill('404')
    await page.getByRole('button', { name: 'Apply' }).click()
    // The two 404s this test made (the dashboard's own probe of /hub/ may add a third).
    await expect
      .poll(async () => (await rows.filter({ hasText: 'find-me-' }).count()) === 2)
      .toBe(true)
    for (const row of await rows.all()) expect(await row.textContent()).toContain('404')
    // A request id narrows to that one request.
    await page.getByRole('button', { name: 'find-me-1' }).click()
    await expect.poll(() => rows.count()).toBe(1)
    expect(await page.getByLabel('Request id').inputValue()).toBe('find-me-1')
    expect(await rows.first().textContent()).toContain('/api/collections/pings/records/missing')
    await s.shot('21-logs-one-request')
    expect(await seriousA11yViolations(page)).toEqual([])

    await page.getByRole('button', { name: 'Clear' }).click()
    await page.getByLabel('Route').fill('/records/:id')
    await page.getByLabel('Level').selectOption('info')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => rows.count()).toBe(2)
    await page.getByLabel('Level').selectOption('error')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => rows.count()).toBe(0)
    await page.getByText('No line matches').waitFor()

    await page.getByLabel('Level').selectOption('')
    await page.getByLabel('Route').fill('')
    await page.getByLabel('Status').fill('abc')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => page.locator('#log-error').textContent()).toMatch(/status/)
    await s.shot('22-logs-bad-filter')
    expect(await seriousA11yViolations(page)).toEqual([])
    expect(s.problems).toEqual([])
  })

  it('shows the log lines without the password or token of a sign-in', async () => {
    const tokenText = await s.page.evaluate("sessionStorage.getItem('engineroom.token')")
    const logs = await callApi(s, 'GET', '/api/admin/logs?limit=1000')
    const text = JSON.stringify(logs.body)
    expect(text).toContain('/auth/password')
    expect(text).not.toContain('a long passphrase')
    expect(text).not.toContain(String(tokenText))
    expect(text).not.toContain(s.token)
  })
})
