/**
 * `ER_BACKUP_TARGET=s3` on both dialects, against an S3-compatible server on loopback (the one
 * the files tests use): backups are uploaded (nothing left behind locally), listed and served by
 * `/api/backups`, pruned by `ER_BACKUP_KEEP` in the bucket, fetched back, verified and restored;
 * an object with one byte flipped in the bucket is refused.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { openS3Blobs } from '../../src/adapters/blobs/s3/s3-blobs.js'
import { createPostgresSnapshots } from '../../src/adapters/snapshots/postgres/postgres-snapshots.js'
import { createSqliteSnapshots } from '../../src/adapters/snapshots/sqlite/sqlite-snapshots.js'
import { EngineError } from '../../src/core/errors/index.js'
import { createMetrics } from '../../src/http/ops/metrics.js'
import { buildServer } from '../../src/http/server.js'
import {
  createBlobBackupTarget,
  type BackupTarget,
} from '../../src/services/backups/backup-target.js'
import { createBackupsService } from '../../src/services/backups/backups-service.js'
import { readBackup } from '../../src/services/backups/read-backup.js'
import { restoreBackup } from '../../src/services/backups/restore-backup.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine, multipartBody } from '../helpers/files-engine.js'
import { newRestoreTarget } from '../helpers/restore-target.js'
import { startS3Server, type S3Server } from '../helpers/s3-server.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

for (const dialect of dialects) {
  describe(`backups to S3 (${dialect})`, { timeout: 180_000 }, () => {
    let s3: S3Server
    let t: TestEngine & { blobs: BlobStore }
    let app: FastifyInstance
    let build: string
    let bucket: BlobStore
    let target: BackupTarget
    const prefix = `bk${randomBytes(4).toString('hex')}/`
    const key = randomBytes(32)

    beforeAll(async () => {
      s3 = await startS3Server()
      // The files live in the same bucket under their own prefix: the backup reads them there.
      t = await createFilesTestEngine(dialect, 's3', s3)
      build = mkdtempSync(join(tmpdir(), 'er-s3-backups-'))
      const open = () =>
        openS3Blobs({
          bucket: s3.bucket,
          region: 'us-east-1',
          endpoint: s3.endpoint,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          forcePathStyle: true,
          prefix,
        })
      bucket = open()
      target = createBlobBackupTarget(open(), `s3://${s3.bucket}/${prefix}`)
      const backups = createBackupsService({
        sources: {
          snapshots:
            'file' in t.database
              ? createSqliteSnapshots({ file: t.database.file })
              : createPostgresSnapshots({ url: t.database.url }),
          blobs: t.blobs,
          migrationsDir: join(t.dir, 'migrations'),
        },
        dir: build,
        target,
        key,
        keep: { last: 2 },
      })
      app = await buildServer(t.engine, { backups, metrics: createMetrics() })
      await createCollection(t, {
        name: 'notes',
        fields: [
          { name: 'title', type: 'text', required: true },
          { name: 'attachment', type: 'file' },
        ],
        rules: { list: '', view: '', create: '', update: '', delete: '' },
      })
      for (let i = 0; i < 4; i++) {
        const { payload, headers } = multipartBody([
          { name: 'title', value: `note ${i}` },
          { name: 'attachment', filename: `n${i}.bin`, content: randomBytes(30_000) },
        ])
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/notes/records',
          payload,
          headers,
        })
        expect(res.statusCode, res.body).toBe(201)
      }
    })
    afterAll(async () => {
      await app?.close()
      await t?.close()
      await target?.close()
      await bucket?.close()
      await s3?.close()
      if (build) rmSync(build, { recursive: true, force: true })
    })
    const call = (method: 'GET' | 'POST', url: string) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${t.token}` } })
    const objects = async () => {
      const keys: string[] = []
      for await (const blob of bucket.list('')) keys.push(blob.key)
      return keys.sort()
    }

    it('uploads verified archives, lists and serves them from the bucket, keeps ER_BACKUP_KEEP', async () => {
      const names: string[] = []
      for (let i = 0; i < 3; i++) {
        const res = await call('POST', '/api/backups')
        expect(res.statusCode, res.body).toBe(201)
        expect(res.json()).toMatchObject({ verified: true })
        names.push((res.json() as { name: string }).name)
        // Names carry the second they were taken: apart, so retention sees three.
        await new Promise((done) => setTimeout(done, 1100))
      }
      // Retention deleted the oldest object; nothing else (no partial upload) is in the bucket.
      expect(await objects()).toEqual([names[1], names[2]].sort())
      // Nothing stays in the local build folder once uploaded.
      expect(readdirSync(build)).toEqual([])
      const list = (await call('GET', '/api/backups')).json() as {
        items: { name: string; encrypted: boolean }[]
      }
      expect(list.items.map((i) => i.name)).toEqual([names[2], names[1]])
      expect(list.items.every((i) => i.encrypted)).toBe(true)
      const download = await call('GET', `/api/backups/${names[2]}`)
      expect(download.statusCode).toBe(200)
      const scratch = mkdtempSync(join(tmpdir(), 'er-s3-fetch-'))
      try {
        const fetched = await target.fetch(names[2] as string, scratch)
        expect(download.rawPayload.equals(readFileSync(fetched))).toBe(true)
      } finally {
        rmSync(scratch, { recursive: true, force: true })
      }
      expect((await call('GET', `/api/backups/${names[0]}`)).statusCode).toBe(404)
    })

    it('detects an upload that does not read back as written, and keeps no such object', async () => {
      const damagedPrefix = `bad${randomBytes(4).toString('hex')}/`
      const real = openS3Blobs({
        bucket: s3.bucket,
        region: 'us-east-1',
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        prefix: damagedPrefix,
      })
      // The bytes leave the server intact, one of them flips on the way into the bucket (a
      // faulty proxy or disk): same size, different content.
      const flaky: BlobStore = {
        ...real,
        putFile: async (blobKey, path, options) => {
          const bytes = readFileSync(path)
          bytes[Math.floor(bytes.length / 3)]! ^= 0x10
          await real.put(blobKey, Readable.from([bytes]), options)
        },
      }
      const damagedBuild = mkdtempSync(join(tmpdir(), 'er-s3-damaged-'))
      const backups = createBackupsService({
        sources: {
          snapshots:
            'file' in t.database
              ? createSqliteSnapshots({ file: t.database.file })
              : createPostgresSnapshots({ url: t.database.url }),
          blobs: t.blobs,
          migrationsDir: join(t.dir, 'migrations'),
        },
        dir: damagedBuild,
        target: createBlobBackupTarget(flaky, `s3://${s3.bucket}/${damagedPrefix}`),
        key,
      })
      try {
        const run = await backups.takeVerified()
        expect(run.verified).toBe(false)
        expect(run.error).toMatch(/does not read back as written \(SHA-256 differs\)/)
        expect(backups.totals().failed).toBe(1)
        const left: string[] = []
        for await (const blob of real.list('')) left.push(blob.key)
        expect(left).toEqual([])
      } finally {
        await real.close()
        rmSync(damagedBuild, { recursive: true, force: true })
      }
    })

    it('restores from the bucket, and refuses an object with one byte flipped', async () => {
      const [newest] = await target.list()
      const scratch = mkdtempSync(join(tmpdir(), 'er-s3-restore-'))
      const schema =
        'url' in t.database
          ? new URL(t.database.url).searchParams.get('options')!.split('=')[1]!
          : ''
      const place = await newRestoreTarget(dialect, schema)
      try {
        const archive = await target.fetch(newest!.name, scratch)
        const manifest = await restoreBackup(place.target, archive, { force: false, key })
        expect(manifest.tables.notes?.rows).toBe(4)
        expect(manifest.files.count).toBe(4)
        const restored = await place.openStore()
        try {
          const notes = (await restored.listCollections()).find((c) => c.name === 'notes')!
          expect(await restored.countRecords(notes, [])).toBe(4)
        } finally {
          await restored.close()
        }
        // Damage the object in the bucket itself: the next fetch is refused by verification.
        const bytes = readFileSync(archive)
        bytes[Math.floor(bytes.length / 2)]! ^= 0x01
        await bucket.put(newest!.name, Readable.from([bytes]), {
          contentType: 'application/octet-stream',
        })
        const again = await target.fetch(newest!.name, mkdtempSync(join(scratch, 'again-')))
        const error = await readBackup(place.target.snapshots, again, {
          key,
          staging: mkdtempSync(join(scratch, 'staging-')),
          keepFiles: false,
        }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(EngineError)
        expect((error as EngineError).code).toBe('ER_BACKUP_CORRUPT')
      } finally {
        await place.drop()
        rmSync(scratch, { recursive: true, force: true })
      }
    })
  })
}
