/**
 * A one-off command on the deployment's bus (REDIS_URL) whose Redis goes away while it works:
 * the work it did stays done, the command still ends (an unsubscribe or a QUIT waiting on a
 * dead connection kept the process alive for ever), and the cache versions it could not move
 * are a warning naming them rather than a silent stale cache on the servers.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/server-process.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const REDIS = new URL(process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
const CLI = resolve('src/cli/main.ts')
const ROWS = 60_000

const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('a CLI command whose Redis goes away mid-command', { timeout: 180_000 }, () => {
  it('finishes its import, warns about the cache versions it could not move, and ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-redis-lost-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const data = join(dir, 'data')
    mkdirSync(data)
    const schema = join(dir, 'schema.json')
    writeFileSync(
      schema,
      JSON.stringify([{ name: 'posts', fields: [{ name: 'title', type: 'text' }] }]),
    )
    const imported = runCli(['schema', 'import', schema, '--dir', data], {})
    expect(imported.code, imported.err).toBe(0)
    const file = join(dir, 'posts.jsonl')
    writeFileSync(
      file,
      Array.from({ length: ROWS }, (_, i) => JSON.stringify({ title: `post ${i}` })).join('\n'),
    )

    const proxy: TcpProxy = await startTcpProxy({
      host: REDIS.hostname,
      port: Number(REDIS.port || 6379),
    })
    cleanups.push(() => proxy.close())
    // Small batches: many commits, each moving the cache version, so Redis is cut mid-import.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'import', 'posts', file, '--batch', '20', '--dir', data],
      {
        env: {
          ...process.env,
          DATABASE_URL: '',
          REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
          ER_BUS_PREFIX: `er-redis-lost-${process.pid}:`,
        },
      },
    )
    cleanups.push(() => void child.kill('SIGKILL'))
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const progressed = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString()
        if (/imported [\d,]+ records/.test(err)) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await Promise.race([progressed, exited])
    proxy.cut()
    // Bounded: a process that never ends fails here rather than at the suite's timeout.
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 90_000).unref()),
    ])
    expect(code, `${out}\n${err}`).toBe(0)
    expect(out).toContain(`Imported ${ROWS.toLocaleString('en')} records into "posts"`)
    expect(err).toMatch(/engineroom: warning: Redis did not take the cache version of posts/)
    expect(err).not.toMatch(/\n\s+at |unexpected error/)

    const db = new Database(join(data, 'data.db'), { readonly: true })
    try {
      expect(db.prepare('select count(*) as n from posts').get()).toEqual({ n: ROWS })
    } finally {
      db.close()
    }
  })
})
