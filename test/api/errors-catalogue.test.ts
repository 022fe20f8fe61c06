import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { errorCatalogue } from '../../src/core/errors/index.js'

const doc = readFileSync(new URL('../../docs/reference/errors.md', import.meta.url), 'utf8')

/** `## ER_CODE` sections of the doc, each with its body up to the next heading. */
const sections = new Map(
  [...doc.matchAll(/^## (\S+)\n([\s\S]*?)(?=^## |(?![\s\S]))/gm)].map((m) => [
    m[1] as string,
    (m[2] ?? '').trim(),
  ]),
)
const catalogue = Object.entries(errorCatalogue)

describe('docs/reference/errors.md and the error catalogue agree', () => {
  it.each(catalogue)('%s has a section with its status and title', (code, { status, title }) => {
    const body = sections.get(code)
    expect(body, `docs/reference/errors.md has no "## ${code}" section`).toBeDefined()
    expect(
      body?.startsWith(`${status}, ${title}.`),
      `the ${code} section must begin "${status}, ${title}."`,
    ).toBe(true)
    expect((body ?? '').length, `the ${code} section must say when it happens`).toBeGreaterThan(
      `${status}, ${title}.`.length + 20,
    )
  })

  it('names no code that the catalogue lacks', () => {
    const mentioned = new Set([...doc.matchAll(/\bER_[A-Z0-9_]+\b/g)].map((m) => m[0]))
    const unknown = [...mentioned].filter((code) => !(code in errorCatalogue))
    expect(unknown).toEqual([])
    expect([...sections.keys()].filter((code) => !(code in errorCatalogue))).toEqual([])
  })

  it('has exactly one section per code, in the catalogue order', () => {
    const headings = [...doc.matchAll(/^## (\S+)$/gm)].map((m) => m[1])
    expect(headings).toEqual(catalogue.map(([code]) => code))
  })

  it('gives every code the ER_<AREA>_<REASON> form and a status from its class', () => {
    for (const [code, { status }] of catalogue) {
      expect(code).toMatch(/^ER_[A-Z]+(_[A-Z]+)+$|^ER_[A-Z]+$/)
      expect(status).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(600)
    }
  })
})
