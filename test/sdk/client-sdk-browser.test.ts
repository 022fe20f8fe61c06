/**
 * `@engineroom/client` inside real Chromium: the SDK bundled for the browser (esbuild, as an
 * app's bundler would), loaded by a page of the server's origin, signs up, signs in, hears a
 * create over realtime (fetch streaming, no Node APIs) and reads a ProblemError.
 */
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import type * as ClientSdk from '../../packages/client/src/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

/** The page imports the bundle itself (an import() inside evaluate would be rewritten by Vite). */
const PAGE = `<!doctype html><title>sdk</title>
<script type="module">import * as sdk from '/sdk.js'; window.sdk = sdk</script>`

type Sdk = typeof ClientSdk

describe.runIf(browserTestsRun()).each(dialects)('the client SDK in Chromium on %s', (dialect) => {
  let t: TestEngine
  let origin: string
  let browser: Browser
  let bundle: string

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: { create: '' } })
    await createCollection(t, {
      name: 'notes',
      fields: [{ name: 'text', type: 'text', required: true }],
      rules: { list: '', view: '', create: '@request.auth.id != ""' },
    })
    origin = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const built = await build({
      entryPoints: ['packages/client/src/index.ts'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
    })
    bundle = built.outputFiles[0]!.text
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  it('signs in, writes, hears the write over realtime and reads problems', async () => {
    const page = await browser.newPage()
    // The page and the bundle come from the server's own origin, as an app served beside it.
    await page.route(`${origin}/sdk-page`, (route) =>
      route.fulfill({ contentType: 'text/html', body: PAGE }),
    )
    await page.route(`${origin}/sdk.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: bundle }),
    )
    await page.goto(`${origin}/sdk-page`)
    await page.waitForFunction(() => 'sdk' in globalThis)
    const result = await page.evaluate(async () => {
      // The test's tsconfig has no DOM lib: reach the page's globals through globalThis.
      const { sdk, location } = globalThis as unknown as { sdk: Sdk; location: { origin: string } }
      const er = sdk.createClient({ url: location.origin })
      await er.collection('users').create({ email: 'b@example.com', password: 'browser password' })
      await er.auth.signInWithPassword('users', 'b@example.com', 'browser password')
      const heard: string[] = []
      const sub = er.realtime.subscribe({
        topics: ['notes'],
        onEvent: (e) => heard.push(`${e.action}:${String(e.record.text)}`),
      })
      await sub.ready
      await er.collection('notes').create({ text: 'from the browser' })
      for (let i = 0; i < 200 && heard.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50))
      }
      sub.close()
      let problem: { status: number; code: string | undefined; field: boolean } | null = null
      try {
        await er.collection('notes').create({})
      } catch (e) {
        if (e instanceof sdk.ProblemError) {
          problem = { status: e.status, code: e.code, field: 'text' in e.errors }
        }
      }
      const page = await er.collection('notes').list({ filter: 'text ~ "browser"', count: true })
      return { heard, problem, total: page.totalItems }
    })
    expect(result.heard).toEqual(['create:from the browser'])
    expect(result.problem).toEqual({ status: 400, code: 'ER_VALIDATION_FAILED', field: true })
    expect(result.total).toBe(1)
    await page.close()
  })
})
