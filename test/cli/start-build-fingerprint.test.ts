/**
 * `npm start` builds only when the sources changed (scripts/build-if-stale.mjs): run on a small
 * project whose build scripts only log that they ran, so the test measures decisions, not tsc.
 */
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const project = mkdtempSync(join(tmpdir(), 'er-fingerprint-'))
afterAll(() => rmSync(project, { recursive: true, force: true }))

const log = join(project, 'builds.log')
const builds = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)

function start(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    [join(project, 'scripts', 'build-if-stale.mjs'), ...args],
    {
      encoding: 'utf8',
      cwd: project,
    },
  )
  return { code: result.status, err: result.stderr }
}

describe('npm start with a current build', () => {
  it('builds the server once, again only when a source changes; a failing dashboard build only warns', () => {
    mkdirSync(join(project, 'scripts'))
    cpSync(resolve('scripts/build-if-stale.mjs'), join(project, 'scripts', 'build-if-stale.mjs'))
    mkdirSync(join(project, 'src'))
    mkdirSync(join(project, 'dist'))
    mkdirSync(join(project, 'admin', 'dist'), { recursive: true })
    writeFileSync(join(project, 'src', 'main.ts'), 'export const a = 1\n')
    writeFileSync(log, '')
    const append = (what: string) =>
      `node -e "require('fs').appendFileSync('builds.log', '${what}\\\\n')"`
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'fingerprint-fixture',
        private: true,
        scripts: {
          'build:server': append('server'),
          'build:admin': `${append('admin')} && exit 3`,
        },
      }),
    )

    const first = start()
    expect(first.code, first.err).toBe(0)
    expect(builds()).toEqual(['server', 'admin'])
    expect(first.err).toContain('the dashboard did not build; the API serves without it')

    // Unchanged sources with new modification times (a checkout) build nothing on the server side.
    const later = new Date(Date.now() + 60_000)
    utimesSync(join(project, 'src', 'main.ts'), later, later)
    const second = start()
    expect(second.code, second.err).toBe(0)
    expect(builds()).toEqual(['server', 'admin', 'admin'])

    writeFileSync(join(project, 'src', 'main.ts'), 'export const a = 2\n')
    expect(start().code).toBe(0)
    expect(builds().filter((b) => b === 'server')).toHaveLength(2)
  })

  it('npm run build (--all) builds every part, and fails when the dashboard does not build', () => {
    const before = builds().length
    const result = start('--all')
    expect(result.code).toBe(3)
    expect(builds().slice(before)).toEqual(['server', 'admin'])
  })

  it('stops when the server does not build', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))
    pkg.scripts['build:server'] = 'exit 4'
    writeFileSync(join(project, 'package.json'), JSON.stringify(pkg))
    expect(start().code).toBe(4)
  })
})
