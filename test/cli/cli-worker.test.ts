/**
 * `engineroom worker` as a user runs it (from source through tsx): it starts on a data
 * directory, says what it runs, and stops cleanly on SIGTERM; a bad `--concurrency` is a one-line
 * error with what to do, never a stack trace.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const CLI = resolve('src/cli/main.ts')
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const env = { ...process.env, DATABASE_URL: '', REDIS_URL: '' }

describe('engineroom worker', () => {
  it('refuses a bad --concurrency with a one-line message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-worker-'))
    dirs.push(dir)
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'worker', '--dir', dir, '--concurrency', 'lots'],
      { encoding: 'utf8', env, timeout: 60_000 },
    )
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('--concurrency is a whole number from 1 to 1000')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('runs on a data directory and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-worker-'))
    dirs.push(dir)
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'worker', '--dir', dir, '--concurrency', '2'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const deadline = Date.now() + 60_000
    while (!out.includes('worker running') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(out).toMatch(/worker running 2 jobs at once on SQLite .* \(store queue\)/)
    child.kill('SIGTERM')
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(0)
    expect(out).toContain('finishing running jobs')
  })
})
