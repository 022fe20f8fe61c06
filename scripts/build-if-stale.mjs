#!/usr/bin/env node
/**
 * `npm start` runs this first: it rebuilds only what changed since the last build, so a start
 * with a current build takes no compile (tsc alone is about 10 s on a small machine).
 *
 * A part is stale when the SHA-256 over its inputs (paths and contents, in sorted order) differs
 * from the fingerprint its last successful build wrote. Contents, not times: a fresh clone or a
 * `git checkout` touches every file's time without changing what a build would produce.
 *
 * The dashboard and the career hub's page are optional: when one fails to build (say its
 * dependencies were not installed) the server still starts and `/_/` (or `/hub/`) says how to
 * build it.
 *
 * `--all` (what `npm run build` runs) builds every part whatever its fingerprint and fails on any
 * failure, then records the fingerprints, so the next `npm start` builds nothing.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

const PARTS = [
  {
    name: 'server',
    inputs: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'],
    output: 'dist',
    script: 'build:server',
    required: true,
  },
  {
    name: 'dashboard',
    inputs: ['admin/src', 'admin/index.html', 'admin/vite.config.ts', 'admin/package.json'],
    output: 'admin/dist',
    script: 'build:admin',
    required: false,
  },
  {
    // The career hub's page bundles the SDK from its sources, so those are its inputs too.
    name: 'career hub page',
    inputs: [
      'hub/src',
      'hub/index.html',
      'hub/vite.config.ts',
      'hub/package.json',
      'packages/client/src',
    ],
    output: 'hub/dist',
    script: 'build:hub',
    required: false,
  },
]

/** Every file under `path` (skipping tests, which no build reads), sorted. */
function files(path) {
  const full = join(root, path)
  if (!existsSync(full)) return []
  if (!statSync(full).isDirectory()) return [full]
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !/\.test\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
}

function fingerprint(inputs) {
  const hash = createHash('sha256')
  for (const file of inputs.flatMap(files)) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0')
  }
  return hash.digest('hex')
}

const all = process.argv.includes('--all')

for (const part of PARTS) {
  const stamp = join(root, part.output, '.build-fingerprint')
  const current = fingerprint(part.inputs)
  if (!all && existsSync(stamp) && readFileSync(stamp, 'utf8') === current) continue
  if (!all)
    console.error(`engineroom: building the ${part.name} (sources changed since the last build)…`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['run', '--silent', part.script], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    if (part.required || all) process.exit(result.status ?? 1)
    console.error(
      `engineroom: the ${part.name} did not build; the API serves without it. Run "npm run ${part.script}" to see why.`,
    )
    continue
  }
  writeFileSync(stamp, current)
}
