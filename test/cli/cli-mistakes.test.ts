/**
 * Ordinary mistakes with the `engineroom` command, as a real process: each is one line saying
 * what to do next and an exit code other than 0, never a stack trace, and never a database
 * silently created where the user did not mean one.
 */
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/server-process.js'

const dirs: string[] = []
let CLI = ''
/** Root ignores file modes; a read-only folder is read-only only to another user. */
const asRoot = process.getuid?.() === 0
const NOBODY = 65534

beforeAll(async () => {
  mkdirSync(resolve('.tmp'), { recursive: true })
  const out = mkdtempSync(resolve('.tmp', 'cli-mistakes-'))
  dirs.push(out)
  chmodSync(out, 0o755)
  CLI = join(out, 'engineroom.mjs')
  await build({
    entryPoints: [resolve('src/cli/main.ts')],
    outfile: CLI,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  })
})
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'er-cli-mistake-'))
  dirs.push(dir)
  return dir
}

function run(
  args: string[],
  options: { asOtherUser?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ER_DIR: '', ...options.env },
    timeout: options.timeoutMs ?? 120_000,
    ...(options.asOtherUser && asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  })
  return { code: result.status, out: result.stdout, err: result.stderr }
}

/** Whether the user the read-only cases run as can read `file` (every folder above it too). */
function otherUserCanRead(file: string): boolean {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(file)}, require('node:fs').constants.R_OK)`,
    ],
    { uid: NOBODY, gid: NOBODY, timeout: 30_000 },
  )
  return probe.status === 0
}

/** Exit code ≠ 0, exactly one line on stderr matching `message`, and no stack trace. */
function expectOneLine(result: ReturnType<typeof run>, message: RegExp): void {
  expect(result.code, result.err).not.toBe(0)
  expect(result.code).not.toBeNull()
  const lines = result.err.trim().split('\n')
  expect(lines, result.err).toHaveLength(1)
  expect(lines[0]).toMatch(/^engineroom: /)
  expect(lines[0]).toMatch(message)
  expect(result.err).not.toMatch(/\n\s+at |unexpected error/)
}

describe('engineroom CLI mistakes', { timeout: 180_000 }, () => {
  it.each([
    [['superuser', 'list']],
    [['superuser', 'create', 'a@example.com', 'a long passphrase']],
    [['superuser', 'delete', 'a@example.com']],
    [['schema', 'export', '-']],
    [['keys', 'list']],
    [['audit', 'verify']],
    [['import', 'jobs', 'jobs.jsonl']],
  ])('%j on a --dir that does not exist: an error, and nothing created', (args) => {
    const typo = join(tempDir(), 'er_dta')
    expectOneLine(run([...args, '--dir', typo]), /no data directory at .*er_dta\. Check --dir/)
    expect(existsSync(typo)).toBe(false)
  })

  it('a --dir that is a file is named as such', () => {
    const file = join(tempDir(), 'notes.txt')
    writeFileSync(file, 'hello')
    expectOneLine(run(['superuser', 'list', '--dir', file]), /is a file, not a data directory/)
    expectOneLine(
      run(['migrate', '--dir', join(file, 'sub')]),
      /cannot use the data.*a part of the path is a file.*Check --dir/,
    )
  })

  it('schema import of a missing file, or of one that is not JSON', () => {
    const dir = tempDir()
    expectOneLine(
      run(['schema', 'import', join(dir, 'missing.json'), '--dir', dir]),
      /The schema file .*missing\.json does not exist/,
    )
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{ "name": ')
    expectOneLine(
      run(['schema', 'import', bad, '--dir', dir]),
      /bad\.json is not valid JSON .*schema export/,
    )
  })

  it('import of a missing file names it', () => {
    const dir = tempDir()
    expectOneLine(
      run(['import', 'jobs', join(dir, 'jobs.csv'), '--dir', dir]),
      /The file to import .*jobs\.csv does not exist/,
    )
  })

  it('a REDIS_URL nobody answers on is one line naming it, and the command ends', async () => {
    const dir = tempDir()
    const file = join(dir, 'jobs.jsonl')
    writeFileSync(file, '{"title":"a"}\n')
    // Writing without the deployment's bus would leave the servers' caches stale: refused.
    const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }
    for (const args of [
      ['import', 'jobs', file, '--dir', dir],
      ['superuser', 'create', 'a@example.com', 'a long passphrase', '--dir', dir],
    ]) {
      expectOneLine(run(args, { env, timeoutMs: 30_000 }), /cannot reach Redis.*Check REDIS_URL/)
    }
  })

  it('with Redis out of reach, migrate changes nothing and a finished restore only warns', async () => {
    const root = tempDir()
    const [source, target, restored] = ['source', 'target', 'restored'].map((name) => {
      mkdirSync(join(root, name))
      return join(root, name)
    }) as [string, string, string]
    const schema = join(root, 'schema.json')
    writeFileSync(
      schema,
      JSON.stringify([{ name: 'posts', fields: [{ name: 'title', type: 'text' }] }]),
    )
    expect(run(['schema', 'import', schema, '--dir', source]).code).toBe(0)
    const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }
    // The bus is opened before the first migration: refused with the database untouched.
    expectOneLine(
      run(['migrate', '--dir', target, '--from', join(source, 'migrations')], {
        env,
        timeoutMs: 30_000,
      }),
      /cannot reach Redis.*Check REDIS_URL/,
    )
    expect(run(['schema', 'export', '-', '--dir', target]).out).not.toContain('"posts"')
    // A restore is done before Redis is needed: it succeeds, saying what Redis could not do.
    const out = join(root, 'backups')
    const taken = run(['backup', '--out', out, '--dir', source])
    expect(taken.code, taken.err).toBe(0)
    const archive = join(out, readdirSync(out)[0] as string)
    const restore = run(['restore', archive, '--dir', restored], { env, timeoutMs: 60_000 })
    expect(restore.code, restore.err).toBe(0)
    expect(restore.err.trim().split('\n')).toEqual([
      expect.stringMatching(/^engineroom: warning: could not reach Redis .*ER_CACHE_TTL/),
    ])
    expect(run(['schema', 'export', '-', '--dir', restored]).out).toContain('"posts"')
  })

  it('an extension whose setup fails ends the command, with Redis open too', () => {
    const dir = tempDir()
    const extension = join(dir, 'broken.ts')
    writeFileSync(
      extension,
      "export default function setup() { throw new Error('broken setup') }\n",
    )
    // With REDIS_URL the jobs queue (BullMQ) opens before the extension runs: its connections
    // must be closed, or the failed command would never end.
    const env = {
      ER_EXTENSIONS: extension,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      ER_BUS_PREFIX: `er-mistakes-${process.pid}:`,
    }
    for (const args of [
      ['worker', '--dir', dir],
      ['superuser', 'list', '--dir', dir],
    ]) {
      const result = run(args, { env, timeoutMs: 30_000 })
      expect(result.code, result.err).not.toBeNull()
      expect(result.code).not.toBe(0)
      // The extension's own stack follows, for its author: it points into broken.ts.
      expect(result.err.split('\n')[0]).toBe(
        "engineroom: The extension's setup failed: broken setup",
      )
      expect(result.err).toContain('broken.ts:1:')
    }
  })

  it('migrate --from a folder that does not exist is an error, not "Nothing to apply."', () => {
    const dir = tempDir()
    const result = run(['migrate', '--from', join(dir, 'nonexistent'), '--dir', dir])
    expectOneLine(result, /The migrations folder .*nonexistent does not exist/)
    expect(result.out).not.toContain('Nothing to apply')
  })

  it('a data directory this user may not write is one line, not a stack trace', (context) => {
    // As root the check runs as another user, who must be able to read the CLI inside this
    // checkout; a checkout under a private (0700) folder cannot be read by them, so there the
    // case cannot be shown and is skipped, saying so.
    if (asRoot && !otherUserCanRead(CLI)) {
      context.skip('the checkout is not readable by another user (a private parent folder)')
    }
    const parent = tempDir()
    const data = join(parent, 'er_data')
    expect(run(['migrate', '--dir', data]).code).toBe(0)
    chmodSync(data, 0o555)
    chmodSync(parent, 0o555)
    try {
      expectOneLine(
        run(['superuser', 'create', 'a@example.com', 'a long passphrase', '--dir', data], {
          asOtherUser: true,
        }),
        /cannot use the data.*(permission denied|read-only|cannot be opened).*Check --dir/,
      )
      expectOneLine(
        run(['serve', '--http', '127.0.0.1:0', '--dir', join(parent, 'new')], {
          asOtherUser: true,
        }),
        /cannot use the data at .*new: permission denied \(EACCES\)/,
      )
    } finally {
      chmodSync(parent, 0o755)
      chmodSync(data, 0o755)
    }
  })
})
