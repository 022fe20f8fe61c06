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
    writeFileSync(join(build, 'assets', 'explorer-def.js'), 'console.log("explorer, as built")')
    writeFileSync(join(build, 'assets', 'gone-123.js'), 'console.log("removed after start")')
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

  it('reads each file at its first request and keeps it; a file removed since start is a 404', async () => {
    // Listed at start, read when first asked for: what is on disk then is what is served, for
    // as long as the server runs.
    writeFileSync(join(build, 'assets', 'explorer-def.js'), 'console.log("explorer, first asked")')
    rmSync(join(build, 'assets', 'gone-123.js'))
    const first = await built.call({
      method: 'GET',
      url: '/_/assets/explorer-def.js',
      anonymous: true,
    })
    expect(first.statusCode).toBe(200)
    expect(first.body).toBe('console.log("explorer, first asked")')
    writeFileSync(join(build, 'assets', 'explorer-def.js'), 'console.log("rebuilt later")')
    const second = await built.call({
      method: 'GET',
      url: '/_/assets/explorer-def.js',
      anonymous: true,
    })
    expect(second.body).toBe(first.body)
    expect(second.headers.etag).toBe(first.headers.etag)
    const gone = await built.call({ method: 'GET', url: '/_/assets/gone-123.js', anonymous: true })
    expect(gone.statusCode).toBe(404)
    // Never listed: a file added after start is not served either.
    writeFileSync(join(build, 'assets', 'added-456.js'), 'console.log("added")')
    const added = await built.call({
      method: 'GET',
      url: '/_/assets/added-456.js',
      anonymous: true,
    })
    expect(added.statusCode).toBe(404)
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
