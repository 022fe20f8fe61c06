/**
 * The embedding API as a program outside the repository uses it: plain Node importing the built
 * package entry (`main` of package.json), not the sources through Vitest.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { main: string; types: string }
const dir = mkdtempSync(join(tmpdir(), 'er-embed-'))

const PROGRAM = `
import {
  buildServer,
  defineExtension,
  loadConfig,
  openEngine,
  superuserContext,
} from ${JSON.stringify(pathToFileURL(resolve(pkg.main)).href)}

const config = loadConfig({ dir: process.env.DATA_DIR }, {})
const extension = defineExtension((er) => {
  er.records('notes').before('create', (e) => {
    e.record.title = String(e.record.title).toUpperCase()
  })
  er.route('GET', '/api/ext/hello', (req) => ({ hello: req.caller === null ? 'stranger' : 'you' }))
})
const { engine } = await openEngine(config, undefined, undefined, {
  extension: { name: 'embedded', setup: extension },
})
const su = superuserContext(engine)
await engine.schema.createCollection(su, { name: 'notes', fields: [{ name: 'title', type: 'text' }] })
const note = await engine.records.create(su, 'notes', { title: 'quiet' })
const app = await buildServer(engine)
const hello = await app.inject({ method: 'GET', url: '/api/ext/hello' })
const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
console.log(JSON.stringify({
  title: note.title,
  hello: hello.json(),
  documented: Boolean(doc.paths['/api/ext/hello']?.get),
}))
await app.close()
await engine.close()
`

describe('the embedding API from the built package entry', () => {
  beforeAll(() => {
    // The package as published: compiled by the build script into dist/.
    const built = spawnSync('npm', ['run', 'build', '--silent'], { encoding: 'utf8' })
    expect(built.status, built.stderr + built.stdout).toBe(0)
  }, 300_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('runs an engine with an extension inside a plain Node program', () => {
    const file = join(dir, 'program.mjs')
    writeFileSync(file, PROGRAM)
    const run = spawnSync(process.execPath, [file], {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: '', DATA_DIR: join(dir, 'data') },
      timeout: 60_000,
    })
    expect(run.status, run.stderr).toBe(0)
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as unknown
    expect(out).toEqual({ title: 'QUIET', hello: { hello: 'stranger' }, documented: true })
  })

  it('ships the public types of the package root', () => {
    const types = readFileSync(resolve(pkg.types), 'utf8')
    for (const name of ['defineExtension', 'createEngine', 'openEngine', 'superuserContext'])
      expect(types).toContain(name)
  })
})
