/**
 * The packages as a registry would get them: `npm pack` of `packages/client` (and of the root
 * package) holds the built entry and its types and nothing that should stay home (sources,
 * tests, configs), and the packed SDK installs offline into a scratch directory where plain Node
 * imports it and TypeScript finds its types through `exports`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLIENT = resolve('packages/client')
const TSC = resolve('node_modules/.bin/tsc')
const scratch = mkdtempSync(join(tmpdir(), 'er-client-pack-'))

interface PackResult {
  name: string
  filename: string
  files: { path: string }[]
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    // Offline: nothing here may reach a registry (the SDK has no dependencies to fetch).
    env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false' },
  })
  expect(result.status, `${command} ${args.join(' ')}\n${result.stderr}${result.stdout}`).toBe(0)
  return result.stdout
}

/** `npm pack --dry-run --json` in `dir`: the files the tarball would hold. */
function packedFiles(dir: string, ...extra: string[]): { pack: PackResult; paths: string[] } {
  const out = run('npm', ['pack', '--dry-run', '--json', ...extra], dir)
  // A prepack build may print before the JSON; the JSON is the last top-level array.
  const pack = (JSON.parse(out.slice(out.lastIndexOf('\n[') + 1)) as PackResult[])[0]
  if (!pack) throw new Error(`no pack result in ${out}`)
  return { pack, paths: pack.files.map((f) => f.path).sort() }
}

/** Paths that must never ship: sources, tests, configs, local data. */
const NEVER = [
  /^src\//,
  /^test\//,
  /\.test\.[cm]?[jt]s$/,
  /(^|\/)tsconfig[^/]*\.json$/,
  /\.tsbuildinfo$/,
  /^bench\//,
  /^er_data\//,
  /^node_modules\//,
  /(^|\/)\.env/,
]

describe('@engineroom/client as packed', () => {
  let paths: string[]
  let pack: PackResult
  const manifest = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >

  beforeAll(() => {
    // `prepack` builds dist/ (removing what an earlier build left), so the listing is fresh.
    ;({ pack, paths } = packedFiles(CLIENT))
  }, 240_000)
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it('declares what a registry and bundlers need', () => {
    expect(manifest).toMatchObject({
      name: '@engineroom/client',
      type: 'module',
      license: 'MIT',
      sideEffects: false,
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      engines: { node: '>=20' },
    })
    expect(manifest.private).toBeUndefined()
    expect(manifest.dependencies).toBeUndefined()
    expect(typeof manifest.version).toBe('string')
    expect(String(manifest.description).length).toBeGreaterThan(10)
    expect(manifest.repository).toMatchObject({ directory: 'packages/client' })
  })

  it('holds the built entry and types, a README and the licence, and nothing else', () => {
    expect(pack.name).toBe('@engineroom/client')
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/records.js',
      'dist/records.d.ts',
    ]) {
      expect(paths, needed).toContain(needed)
    }
    for (const path of paths) {
      for (const pattern of NEVER) expect(path, String(pattern)).not.toMatch(pattern)
      expect(path).toMatch(/^(package\.json|README\.md|LICENSE|dist\/[\w-]+\.(js|d\.ts))$/)
    }
  })

  it('installs offline into a scratch project, imports in Node and type-checks', () => {
    const tgz = join(scratch, pack.filename)
    run('npm', ['pack', '--pack-destination', scratch, '--silent'], CLIENT)
    const app = join(scratch, 'app')
    run('mkdir', ['-p', app], scratch)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', type: 'module' }))
    run('npm', ['install', tgz, '--no-fund', '--ignore-scripts', '--no-package-lock'], app)
    writeFileSync(
      join(app, 'main.mjs'),
      `import { createClient, ProblemError } from '@engineroom/client'
const er = createClient({ url: 'http://127.0.0.1:1' })
console.log(JSON.stringify({
  client: typeof er.collection,
  problem: typeof ProblemError,
}))`,
    )
    const out = run(process.execPath, ['main.mjs'], app)
    expect(JSON.parse(out)).toEqual({ client: 'function', problem: 'function' })
    // The types resolve through `exports` under NodeNext, and they are the real ones: a wrong
    // option fails to compile.
    writeFileSync(
      join(app, 'main.ts'),
      `import { createClient, type Client } from '@engineroom/client'
const er: Client = createClient({ url: 'http://127.0.0.1:1' })
void er
// @ts-expect-error: no such option
createClient({ url: 'http://127.0.0.1:1', nope: true })
`,
    )
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['main.ts'],
      }),
    )
    run(TSC, ['-p', 'tsconfig.json'], app)
  })
})

describe('the root package as packed', () => {
  beforeAll(() => {
    // The server part of the build only (the dashboards are optional parts of the package).
    run('npm', ['run', 'build:server', '--silent'], resolve('.'))
  }, 300_000)

  it('holds the built server, its types and the CLI, and no sources, tests or local data', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
      main: string
      types: string
      bin: Record<string, string>
    }
    const { paths } = packedFiles(resolve('.'), '--ignore-scripts')
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      manifest.main,
      manifest.types,
      ...Object.values(manifest.bin),
    ]) {
      expect(paths, needed).toContain(needed.replace(/^\.\//, ''))
    }
    for (const path of paths) {
      for (const pattern of NEVER) expect(path, String(pattern)).not.toMatch(pattern)
    }
    expect(paths.some((p) => p.startsWith('packages/'))).toBe(false)
  })
})
