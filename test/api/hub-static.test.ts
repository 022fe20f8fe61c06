/**
 * The career hub's page at `/hub/`: served only where the database holds the career-hub
 * template (elsewhere a 404 like any unknown path), with the page's security headers and
 * immutable assets; without a build the server still starts and `/hub/` says how to build it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyTemplate } from '../../src/services/templates/apply-template.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('the career hub page at /hub/ on %s', (dialect) => {
  const build = mkdtempSync(join(tmpdir(), 'er-hub-build-'))
  let hub: TestEngine
  let unbuilt: TestEngine
  let off: TestEngine
  const get = (t: TestEngine, url: string, headers: Record<string, string> = {}) =>
    t.call({ method: 'GET', url, anonymous: true, headers })

  beforeAll(async () => {
    mkdirSync(join(build, 'assets'))
    writeFileSync(
      join(build, 'index.html'),
      '<!doctype html><script type="module" src="/hub/assets/index-abc.js"></script><main id="main"></main>',
    )
    writeFileSync(join(build, 'assets', 'index-abc.js'), 'console.log("hub")')
    hub = await createTestEngine(dialect, { hubDir: build })
    unbuilt = await createTestEngine(dialect, { hubDir: join(build, 'nowhere') })
    await applyTemplate(unbuilt.engine, 'career-hub')
    off = await createTestEngine(dialect, { hubDir: false })
    await applyTemplate(off.engine, 'career-hub')
  })
  afterAll(async () => {
    await Promise.all([hub?.close(), unbuilt?.close(), off?.close()])
    rmSync(build, { recursive: true, force: true })
  })

  it('is a 404, page and assets, while the database holds no template', async () => {
    expect((await get(hub, '/')).body).not.toContain('href="/hub/"')
    // The dashboard asks with HEAD whether to link to the page.
    expect((await hub.call({ method: 'HEAD', url: '/hub/', anonymous: true })).statusCode).toBe(404)
    for (const url of ['/hub/', '/hub/assets/index-abc.js']) {
      const res = await get(hub, url)
      expect(res.statusCode, url).toBe(404)
      expect(res.body).not.toContain('<main')
      expect(res.body).not.toContain('console.log')
    }
  })

  it('serves the page once the template is there, without a restart', async () => {
    await applyTemplate(hub.engine, 'career-hub')
    // The landing page links to it now, and never where `/hub/` is off.
    expect((await get(hub, '/')).body).toContain('<a href="/hub/">Career hub</a>')
    expect((await get(off, '/')).body).not.toContain('href="/hub/"')
    for (const url of ['/hub/', '/hub']) {
      const page = await get(hub, url)
      expect(page.statusCode, url).toBe(200)
      expect(page.body).toContain('<main id="main">')
      expect(page.headers['content-security-policy']).toContain("script-src 'self'")
      expect(page.headers['cache-control']).toBe('no-cache')
    }
    expect((await hub.call({ method: 'HEAD', url: '/hub/', anonymous: true })).statusCode).toBe(200)
    const script = await get(hub, '/hub/assets/index-abc.js')
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    expect(script.headers['cache-control']).toContain('immutable')
    const again = await get(hub, '/hub/assets/index-abc.js', {
      'if-none-match': String(script.headers.etag),
    })
    expect(again.statusCode).toBe(304)
    for (const url of ['/hub/assets/../../etc/passwd', '/hub/assets/index.html', '/hub/x']) {
      const res = await get(hub, url)
      expect(res.statusCode, url).toBe(404)
      expect(res.body).not.toContain('root:')
    }
  })

  it('says how to build the page when the template is there but the build is not', async () => {
    const page = await get(unbuilt, '/hub/')
    expect(page.statusCode).toBe(503)
    expect(page.body).toContain('npm run build')
    expect((await get(unbuilt, '/healthz')).statusCode).toBe(200)
  })

  it('is not served at all with hubDir: false', async () => {
    expect((await get(off, '/hub/')).statusCode).toBe(404)
  })
})
