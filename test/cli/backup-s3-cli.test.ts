/**
 * `ER_BACKUP_TARGET=s3` as an operator uses it: `engineroom backup` uploads to an S3-compatible
 * server on loopback, `backup list` shows the bucket's archives, and `backup verify <name>` and
 * `restore <name> --dir …` fetch the archive by name; the restore is in the restored audit log.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, runCliAsync } from '../helpers/server-process.js'
import { startS3Server, type S3Server } from '../helpers/s3-server.js'

let s3: S3Server | undefined
const root = mkdtempSync(join(tmpdir(), 'er-backup-s3-cli-'))
afterAll(async () => {
  await s3?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('engineroom backup to S3 (SQLite)', { timeout: 180_000 }, () => {
  it('backs up to the bucket, lists, verifies and restores by name', async () => {
    s3 = await startS3Server()
    const data = join(root, 'data')
    mkdirSync(data)
    const env = {
      ER_DIR: data,
      ER_BACKUP_TARGET: 's3',
      ER_BACKUP_S3_BUCKET: s3.bucket,
      ER_BACKUP_S3_ENDPOINT: s3.endpoint,
      ER_BACKUP_S3_ACCESS_KEY: s3.accessKeyId,
      ER_BACKUP_S3_SECRET_KEY: s3.secretAccessKey,
      ER_BACKUP_S3_FORCE_PATH_STYLE: 'true',
    }
    expect(
      runCli(['superuser', 'create', 'root@example.com', 'correct horse battery'], env).code,
    ).toBe(0)

    const taken = await runCliAsync(['backup'], env)
    expect(taken.code, taken.out + taken.err).toBe(0)
    const name = /s3:\/\/[^/]+\/backups\/(engineroom-\S+\.tar\.gz)/.exec(taken.out)?.[1]
    expect(name, taken.out).toBeDefined()
    // Uploaded, then removed from the local build folder.
    expect(readdirSync(join(data, 'backups'))).toEqual([])

    const list = await runCliAsync(['backup', 'list'], env)
    expect(list.code, list.err).toBe(0)
    expect(list.out).toContain(name)

    const verified = await runCliAsync(['backup', 'verify', name!], env)
    expect(verified.code, verified.out + verified.err).toBe(0)
    expect(verified.out).toMatch(/^OK: /)

    const target = join(root, 'restored')
    const restored = await runCliAsync(['restore', name!, '--dir', target], env)
    expect(restored.code, restored.out + restored.err).toBe(0)
    const db = new Database(join(target, 'data.db'), { readonly: true })
    try {
      const last = db
        .prepare('select actor, action, target from _audit order by seq desc limit 1')
        .get()
      expect(last).toEqual({ actor: 'cli', action: 'backup.restore', target: name })
      const superusers = db.prepare('select email from _superusers').pluck().all()
      expect(superusers).toEqual(['root@example.com'])
    } finally {
      db.close()
    }

    const missing = await runCliAsync(
      ['backup', 'verify', 'engineroom-20200101T000000Z-aaaaaa.tar.gz'],
      env,
    )
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/There is no backup "engineroom-20200101T000000Z-aaaaaa/)
    expect(missing.err).not.toMatch(/\n\s+at /)
  })
})
