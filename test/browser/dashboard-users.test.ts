/**
 * The Users screen in Debian's Chromium against a real server: find an account, mark it
 * verified, reset its two-factor sign-in, revoke its sessions one and then all, and make an API
 * key for it (shown once, working, then revoked). Each change is checked through the API as the
 * user would meet it, and axe finds nothing serious on any state of the screen.
 */
import { authenticator } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserTestsRun } from '../helpers/browser.js'
import {
  callApi,
  openDashboard,
  seriousA11yViolations,
  type DashboardSession,
} from '../helpers/dashboard-session.js'

const runs = browserTestsRun()
const PASSWORD = 'correct horse battery'

describe.runIf(runs)('dashboard: users', { timeout: 240_000 }, () => {
  let s: DashboardSession
  let annId = ''
  const refreshTokens: string[] = []

  const signInAnn = async (agent: string) => {
    const res = await fetch(`${s.server.url}/api/collections/users/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': agent },
      body: JSON.stringify({ identity: 'ann@example.com', password: PASSWORD }),
    })
    return (await res.json()) as { token?: string; refreshToken?: string; mfaRequired?: boolean }
  }

  beforeAll(async () => {
    s = await openDashboard()
    for (const email of ['ann@example.com', 'bob@example.com']) {
      const res = await callApi(s, 'POST', '/api/collections/users/records', {
        email,
        password: PASSWORD,
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      if (email.startsWith('ann')) annId = String(res.body.id)
    }
    for (const agent of ['Laptop Firefox', 'Phone Safari']) {
      const signedIn = await signInAnn(agent)
      refreshTokens.push(String(signedIn.refreshToken))
    }
    // Ann turns on TOTP (then loses her phone).
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${(await signInAnn('Laptop Firefox')).token}`,
    }
    const base = `${s.server.url}/api/collections/users/auth`
    const { secret } = (await (
      await fetch(`${base}/mfa/totp`, { method: 'POST', headers, body: '{}' })
    ).json()) as { secret: string }
    const confirmed = await fetch(`${base}/mfa/totp/confirm`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ code: authenticator.generate(secret) }),
    })
    expect(confirmed.status).toBe(200)
    s.page.on('dialog', (dialog) => void dialog.accept())
    // A CLI run, a server and Chromium from source: slow when other suites share the cores.
  }, 180_000)
  afterAll(async () => {
    await s?.close()
  })

  it('finds an account and marks it verified', async () => {
    const { page } = s
    await page.getByRole('link', { name: 'Users', exact: true }).click()
    await page.getByRole('heading', { name: 'Users' }).waitFor()
    await page.getByLabel('E-mail contains').fill('ann')
    await page.getByRole('button', { name: 'Find' }).click()
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1)
    await page.getByRole('link', { name: 'Manage ann@example.com' }).click()
    await page.getByRole('heading', { name: 'ann@example.com' }).waitFor()
    await page.getByText('Not verified yet.').waitFor()
    await page.getByRole('button', { name: 'Mark verified' }).click()
    await page.getByText('Verified.', { exact: true }).waitFor()
    const ann = await callApi(s, 'GET', `/api/collections/users/records/${annId}`)
    expect(ann.body.verified).toBe(true)
  })

  it('resets a lost authenticator', async () => {
    const { page } = s
    await page.getByText('On (TOTP), 10 recovery code(s) left.').waitFor()
    expect((await signInAnn('Laptop Firefox')).mfaRequired).toBe(true)
    await s.shot('40-user-detail')
    expect(await seriousA11yViolations(page)).toEqual([])
    await page.getByRole('button', { name: 'Reset two-factor' }).click()
    await page.getByText('Off.', { exact: true }).waitFor()
    const again = await signInAnn('Tablet Chrome')
    expect(again.mfaRequired).toBeUndefined()
    expect(again.token).toMatch(/^ey/)
    refreshTokens.push(String(again.refreshToken))
  })

  it('revokes a session, then all of them', async () => {
    const { page } = s
    // The new sign-in shows once the list is read again (by reopening the account).
    await page.goto(`${s.server.url}/_/#/users/users`)
    await page.goto(`${s.server.url}/_/#/users/users/${annId}`)
    const revokeButtons = page.getByRole('button', { name: /^Revoke session / })
    await expect.poll(() => revokeButtons.count()).toBe(4)
    await page.locator('tbody tr', { hasText: 'Tablet Chrome' }).getByRole('button').click()
    await expect.poll(() => revokeButtons.count()).toBe(3)
    const tablet = await fetch(`${s.server.url}/api/collections/users/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: refreshTokens[2] }),
    })
    expect(tablet.status).toBe(401)
    await page.getByRole('button', { name: 'Revoke all sessions' }).click()
    await page.getByText('No live session.').waitFor()
    for (const refreshToken of refreshTokens.slice(0, 2)) {
      const res = await fetch(`${s.server.url}/api/collections/users/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      })
      expect(res.status).toBe(401)
    }
    const audit = await callApi(s, 'GET', '/api/audit?perPage=500')
    const actions = (audit.body.items as { action: string; target: string }[])
      .filter((r) => r.action.startsWith('auth.'))
      .map((r) => `${r.action} ${r.target}`)
    expect(actions).toEqual([
      `auth.mfa.reset users/${annId}`,
      `auth.sessions.revoke users/${annId}`,
      `auth.sessions.revoke users/${annId}`,
    ])
  })

  it('makes an API key shown once, which works until it is revoked', async () => {
    const { page } = s
    await page.getByRole('button', { name: 'Create API key' }).click()
    await page.locator('#key-name-error').waitFor()
    expect(await page.getByLabel('Key name').getAttribute('aria-invalid')).toBe('true')
    await s.shot('41-api-key-error')
    expect(await seriousA11yViolations(page)).toEqual([])

    await page.getByLabel('Key name').fill('ann-sync')
    await page.getByLabel('Collection', { exact: true }).last().selectOption('users')
    await page.getByRole('button', { name: 'Create API key' }).click()
    const shown = page.getByLabel('New API key')
    await shown.waitFor()
    const key = await shown.inputValue()
    expect(key).toMatch(/^erk_/)
    await s.shot('42-api-key-shown-once')
    expect(await seriousA11yViolations(page)).toEqual([])

    const use = () =>
      fetch(`${s.server.url}/api/collections/users/records`, {
        headers: { authorization: `Bearer ${key}` },
      })
    expect((await use()).status).toBe(200)
    await page.getByRole('button', { name: 'I have copied it' }).click()
    await expect.poll(() => shown.count()).toBe(0)
    expect(await page.locator('main').textContent()).not.toContain(key)
    expect(await page.getByRole('list', { name: 'API keys' }).textContent()).toContain(
      'users: list, view',
    )
    await page.getByRole('button', { name: 'Revoke key ann-sync' }).click()
    await page.getByText('No API key. Make one below.').waitFor()
    expect((await use()).status).toBe(401)
    expect(s.problems).toEqual([])
  })
})
