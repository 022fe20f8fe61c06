/**
 * The dashboard at `/_/`: its build served with the page's security headers and immutable
 * assets; without a build the server still starts and `/_/` says how to build it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

describe('dashboard files at /_/', () => {
  const build = mkdtempSync(join(tmpdir(), 'er-admin-build-'))
  let built: TestEngine
  let missing: TestEngine
  beforeAll(async () => {
    mkdirSync(join(build, 'assets'))
    writeFileSync(
      join(build, 'index.html'),
      '<!doctype html><script type="module" src="/_/assets/index-abc.js"></script><div id="root"></div>',
    )
    writeFileSync(join(build, 'assets', 'index-abc.js'), 'console.log("dashboard")')
    built = await createTestEngine('sqlite', { adminDir: build })
    missing = await createTestEngine('sqlite', { adminDir: join(build, 'nowhere') })
  })
  afterAll(async () => {
    await built.close()
    await missing.close()
    rmSync(build, { recursive: true, force: true })
  })

  it('serves the page under the document CSP, and hashed assets for a year', async () => {
    for (const url of ['/_/', '/_']) {
      const page = await built.call({ method: 'GET', url, anonymous: true })
      expect(page.statusCode).toBe(200)
      expect(page.body).toContain('<div id="root">')
      expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    }
    const script = await built.call({
      method: 'GET',
      url: '/_/assets/index-abc.js',
      anonymous: true,
    })
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    expect(script.headers['cache-control']).toContain('immutable')
    const again = await built.call({
      method: 'GET',
      url: '/_/assets/index-abc.js',
      anonymous: true,
      headers: { 'if-none-match': String(script.headers.etag) },
    })
    expect(again.statusCode).toBe(304)
    const unknown = await built.call({
      method: 'GET',
      url: '/_/assets/../../etc/passwd',
      anonymous: true,
    })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.body).not.toContain('root:')
  })

  it('still starts without a build, and /_/ says how to build it', async () => {
    const page = await missing.call({ method: 'GET', url: '/_/', anonymous: true })
    expect(page.statusCode).toBe(503)
    expect(page.body).toContain('npm run build')
    expect(
      (await missing.call({ method: 'GET', url: '/healthz', anonymous: true })).statusCode,
    ).toBe(200)
  })
})
