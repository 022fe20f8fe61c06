/**
 * `engineroom backup`, `backup verify` and `restore` as an operator runs them: real processes,
 * a live server writing meanwhile, encrypted archives, and every refusal a one-line message with
 * exit code 1 and no stack trace.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable, postgresUrl } from '../helpers/dialects.js'
import { loginSuperuser, runCli, startServerProcess } from '../helpers/server-process.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'er-backup-cli-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A refusal as the brief wants it: exit 1, one clear line, no stack trace. */
function expectRefusal(result: ReturnType<typeof runCli>, text: RegExp) {
  expect(result.code, result.out + result.err).toBe(1)
  expect(result.err).toMatch(text)
  expect(result.err).not.toMatch(/\n\s+at /)
  expect(result.err).not.toContain('unexpected error')
}

describe('engineroom backup / restore (SQLite)', { timeout: 240_000 }, () => {
  it('backs up a live server, verifies, restores; refuses a wrong key, damage, a non-empty or live target', async () => {
    const root = tempDir()
    const data = join(root, 'data')
    const env = { ER_DIR: data, ER_RATE_LIMIT_WRITE: 'off', ER_RATE_LIMIT_READ: 'off' }
    // CLI commands other than serve refuse a data directory that does not exist (a typo).
    mkdirSync(data, { recursive: true })
    expect(
      runCli(['superuser', 'create', 'root@example.com', 'correct horse battery'], env).code,
    ).toBe(0)
    const server = await startServerProcess([], env)
    try {
      const token = await loginSuperuser(server.url, 'root@example.com', 'correct horse battery')
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
      expect(
        (
          await call('POST', '/api/collections', {
            name: 'notes',
            fields: [{ name: 'title', type: 'text' }],
            rules: { list: '', view: '', create: '', update: '', delete: '' },
          })
        ).status,
      ).toBe(201)
      for (let i = 0; i < 30; i++)
        await call('POST', '/api/collections/notes/records', { title: `n${i}` })

      const keyFile = join(root, 'backup.key')
      writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`)
      const out = join(root, 'backups')
      const taken = runCli(['backup', '--out', out, '--key-file', keyFile], env)
      expect(taken.code, taken.err).toBe(0)
      expect(taken.out).toMatch(/Backup taken and verified/)
      const [archiveName] = readdirSync(out)
      expect(archiveName).toMatch(/\.tar\.gz\.enc$/)
      const archive = join(out, archiveName as string)
      // The key never travels with the archive.
      expect(readFileSync(archive).includes(readFileSync(keyFile).subarray(0, 20))).toBe(false)

      const verified = runCli(['backup', 'verify', archive, '--key-file', keyFile], env)
      expect(verified.code, verified.err).toBe(0)
      expect(verified.out).toMatch(/OK: .* verified/)

      const wrongKey = join(root, 'wrong.key')
      writeFileSync(wrongKey, randomBytes(32).toString('hex'))
      expectRefusal(
        runCli(['backup', 'verify', archive, '--key-file', wrongKey], env),
        /does not open the archive/,
      )
      expectRefusal(runCli(['backup', 'verify', archive], env), /encrypted: give its key/)
      const damaged = join(root, 'damaged.tar.gz.enc')
      const bytes = readFileSync(archive)
      const middle = Math.floor(bytes.length / 2)
      bytes[middle] = (bytes[middle] ?? 0) ^ 0x40
      writeFileSync(damaged, bytes)
      expectRefusal(
        runCli(['restore', damaged, '--dir', join(root, 'x'), '--key-file', keyFile], env),
        /damaged/,
      )
      expect(readdirSync(join(root, 'x'))).toEqual([])

      // Over the live server's own directory: refused, and with --force still refused.
      expectRefusal(runCli(['restore', archive, '--key-file', keyFile], env), /already holds data/)
      expectRefusal(
        runCli(['restore', archive, '--key-file', keyFile, '--force'], env),
        /running server/,
      )

      const restoredDir = join(root, 'restored')
      const restored = runCli(
        ['restore', archive, '--dir', restoredDir, '--key-file', keyFile],
        env,
      )
      expect(restored.code, restored.err).toBe(0)
      expect(restored.out).toMatch(/Restored/)
      expect(readdirSync(restoredDir).filter((n) => n.startsWith('.'))).toEqual([])
      const other = await startServerProcess([], { ...env, ER_DIR: restoredDir })
      try {
        const otherToken = await loginSuperuser(
          other.url,
          'root@example.com',
          'correct horse battery',
        )
        const page = await fetch(`${other.url}/api/collections/notes/records?count=true`, {
          headers: { authorization: `Bearer ${otherToken}` },
        })
        expect(((await page.json()) as { totalItems: number }).totalItems).toBe(30)
      } finally {
        await other.stop()
      }
    } finally {
      await server.stop()
    }
    expectRefusal(
      runCli(['backup', 'verify', join(root, 'nope.tar.gz')], env),
      /Cannot read the archive/,
    )
    expectRefusal(runCli(['backup', '--dir', join(root, 'empty')], env), /no database/)
  })
})

describe('engineroom backup / restore (PostgreSQL)', { timeout: 240_000 }, async () => {
  const available = await isPostgresAvailable()
  it.runIf(available)(
    'backs up a schema with pg_dump, verifies it and restores into an empty database',
    async () => {
      const root = tempDir()
      const schema = await createPostgresSchema()
      const database = `er_restore_${randomBytes(5).toString('hex')}`
      const admin = new pg.Client({ connectionString: postgresUrl })
      await admin.connect()
      try {
        const env = { ER_DIR: join(root, 'data'), DATABASE_URL: schema.url }
        expect(
          runCli(['superuser', 'create', 'root@example.com', 'correct horse battery'], env).code,
        ).toBe(0)
        const taken = runCli(['backup', '--out', join(root, 'backups')], env)
        expect(taken.code, taken.err).toBe(0)
        expect(taken.out).toMatch(/postgres/)
        const archive = join(root, 'backups', readdirSync(join(root, 'backups'))[0] as string)
        expect(runCli(['backup', 'verify', archive], env).code).toBe(0)
        // Into the same schema: it holds data.
        expectRefusal(runCli(['restore', archive], env), /already holds data/)
        await admin.query(`create database "${database}"`)
        const target = new URL(postgresUrl)
        target.pathname = `/${database}`
        target.searchParams.set('options', `-c search_path=${schema.schema}`)
        const restored = runCli(['restore', archive, '--dir', join(root, 'restored')], {
          ...env,
          DATABASE_URL: target.toString(),
        })
        expect(restored.code, restored.err).toBe(0)
        const check = new pg.Client({ connectionString: target.toString() })
        await check.connect()
        const { rows } = await check.query(`select email from "${schema.schema}"."_superusers"`)
        await check.end()
        expect(rows).toEqual([{ email: 'root@example.com' }])
      } finally {
        await admin.query(`drop database if exists "${database}" with (force)`)
        await admin.end()
        await schema.drop()
      }
    },
  )
})
