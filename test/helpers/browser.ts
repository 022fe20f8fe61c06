/**
 * Debian's Chromium for the browser suites, driven by playwright-core (never a downloaded
 * browser). Suites skip with a printed reason when it is missing, unless ER_REQUIRE_BROWSER=1
 * (CI), where a missing browser fails them instead.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
const browserRequired = process.env.ER_REQUIRE_BROWSER === '1'

/** Whether browser suites run here; says once why not when they don't. */
export function browserTestsRun(): boolean {
  if (!hasChromium && !browserRequired) {
    console.warn(
      `[engineroom tests] SKIPPING browser tests: ${CHROMIUM} is missing ` +
        '(install Debian\'s "chromium" package; ER_REQUIRE_BROWSER=1 turns this skip into a failure).',
    )
  }
  return hasChromium || browserRequired
}

/** A headless Chromium; fails with what to install when it is required and missing. */
export async function launchChromium(): Promise<Browser> {
  if (!hasChromium) {
    throw new Error(`ER_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: apt-get install chromium`)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  })
}
