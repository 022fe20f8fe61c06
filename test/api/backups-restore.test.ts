/**
 * Backups on both dialects with real files: taken while writes go on, verified, restored into a
 * new place, and compared row for row and file for file; a flipped byte, a truncated archive and
 * a wrong key are refused; a restore never lands on a target holding data without `force`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLocalBlobs } from '../../src/adapters/blobs/local/local-blobs.js'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createPostgresSnapshots } from '../../src/adapters/snapshots/postgres/postgres-snapshots.js'
import { createSqliteSnapshots } from '../../src/adapters/snapshots/sqlite/sqlite-snapshots.js'
import type { DatabaseSnapshots } from '../../src/adapters/snapshots/snapshots.js'
import { EngineError } from '../../src/core/errors/index.js'
import { cliContext } from '../../src/services/context.js'
import { createBackup, type CreatedBackup } from '../../src/services/backups/create-backup.js'
import { readBackup } from '../../src/services/backups/read-backup.js'
import { restoreBackup } from '../../src/services/backups/restore-backup.js'
import { verifyAudit } from '../../src/services/audit/audit-log.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { newRestoreTarget as newTarget } from '../helpers/restore-target.js'
import { createFilesTestEngine, imageFile, multipartBody } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

function snapshotsOf(database: { file: string } | { url: string }): DatabaseSnapshots {
  return 'file' in database
    ? createSqliteSnapshots({ file: database.file })
    : createPostgresSnapshots({ url: database.url })
}

async function expectRefused(promise: Promise<unknown>, code: string, text: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(EngineError)
  expect((error as EngineError).code).toBe(code)
  expect((error as EngineError).message).toMatch(text)
}

async function sha256Of(blobs: BlobStore, key: string): Promise<string | undefined> {
  const body = await blobs.get(key)
  if (!body) return undefined
  const hash = createHash('sha256')
  for await (const chunk of body) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

for (const dialect of dialects) {
  describe(`backups (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine & { blobs: BlobStore }
    let out: string
    let backup: CreatedBackup
    let acknowledged: string[]
    const key = randomBytes(32)
    let encrypted: CreatedBackup

    beforeAll(async () => {
      t = await createFilesTestEngine(dialect, 'local', undefined)
      out = mkdtempSync(join(tmpdir(), 'er-backups-'))
      await createCollection(t, {
        name: 'notes',
        fields: [
          { name: 'title', type: 'text', required: true },
          { name: 'attachment', type: 'file', maxSelect: 2 },
        ],
        rules: { list: '', view: '', create: '', update: '', delete: '' },
      })
      for (let i = 0; i < 6; i++) {
        const { payload, headers } = multipartBody([
          { name: 'title', value: `with file ${i}` },
          { name: 'attachment', filename: `pic${i}.png`, content: await imageFile(40 + i, 30) },
          {
            name: 'attachment',
            filename: `blob${i}.bin`,
            content: randomBytes(20_000 + i * 1000),
          },
        ])
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/notes/records',
          payload,
          headers,
        })
        expect(res.statusCode, res.body).toBe(201)
      }
      // Writes go on while the backup is taken; each id is kept once it was acknowledged.
      acknowledged = []
      const ctx = cliContext(t.engine.registry.get('_superusers'))
      let writing = true
      const writer = (async () => {
        for (let i = 0; writing || i < 20; i++) {
          const record = await t.engine.records.create(ctx, 'notes', { title: `load ${i}` })
          acknowledged.push(String(record.id))
          await new Promise((done) => setImmediate(done))
        }
      })()
      await new Promise((done) => setTimeout(done, 30))
      backup = await createBackup(
        {
          snapshots: snapshotsOf(t.database),
          blobs: t.blobs,
          migrationsDir: join(t.dir, 'migrations'),
        },
        { outDir: out },
      )
      writing = false
      await writer
      encrypted = await createBackup(
        {
          snapshots: snapshotsOf(t.database),
          blobs: t.blobs,
          migrationsDir: join(t.dir, 'migrations'),
        },
        { outDir: out, key },
      )
    })
    afterAll(async () => {
      await t?.close()
      if (out) rmSync(out, { recursive: true, force: true })
    })

    it('describes the snapshot: tables, files, parts and the last event', async () => {
      const { manifest } = backup
      expect(backup.name).toMatch(/^engineroom-\d{8}T\d{6}Z-[a-z0-9]{6}\.tar\.gz$/)
      expect(manifest.database.dialect).toBe(dialect)
      expect(manifest.tables.notes?.rows).toBeGreaterThanOrEqual(6)
      expect(manifest.tables._superusers?.rows).toBe(1)
      expect(manifest.files).toMatchObject({ count: 12, missing: [], mismatched: [] })
      expect(manifest.parts.filter((p) => p.path.startsWith('files/'))).toHaveLength(12)
      expect(manifest.parts.some((p) => p.path.startsWith('database/'))).toBe(true)
      expect(manifest.parts.some((p) => p.path.startsWith('migrations/'))).toBe(true)
      expect(manifest.lastEventId).toBeGreaterThan(0)
      // Writes went on during the backup: some landed in it, some after it.
      const live = await t.engine.store.countRecords(t.engine.registry.get('notes'), [])
      expect(live).toBeGreaterThan(manifest.tables.notes?.rows ?? 0)
      expect(await readdir(out)).toEqual(expect.arrayContaining([backup.name, encrypted.name]))
      expect((await readdir(out)).filter((n) => n.startsWith('.'))).toEqual([])
    })

    it('restores into a new place with every write acknowledged before its last event, and the files', async () => {
      const schema =
        'url' in t.database
          ? new URL(t.database.url).searchParams.get('options')!.split('=')[1]!
          : ''
      const place = await newTarget(dialect, schema)
      try {
        const manifest = await restoreBackup(
          { ...place.target, openStore: place.openStore },
          backup.path,
          { force: false },
        )
        expect(manifest.lastEventId).toBe(backup.manifest.lastEventId)
        const restored = await place.openStore()
        try {
          // The restored log tells where its data came from, and its chain still holds.
          const last = await restored.audit.last()
          expect(last).toMatchObject({
            actor: 'cli',
            action: 'backup.restore',
            target: backup.name,
          })
          expect(JSON.parse(last!.detail)).toMatchObject({ lastEventId: manifest.lastEventId })
          expect((await verifyAudit(restored)).broken).toBeUndefined()
          const notes = (await restored.listCollections()).find((c) => c.name === 'notes')!
          expect(await restored.countRecords(notes, [])).toBe(backup.manifest.tables.notes?.rows)
          // Every create the outbox numbered up to the snapshot's last event is there.
          const events = await t.engine.store.readChanges(0, 100_000)
          const creates = events.filter((e) => e.collection === 'notes' && e.action === 'create')
          const before = creates.filter((e) => e.id <= manifest.lastEventId).map((e) => e.recordId)
          const after = creates.filter((e) => e.id > manifest.lastEventId).map((e) => e.recordId)
          expect(after.length).toBeGreaterThan(0)
          expect((await restored.selectByIds(notes, before)).length).toBe(before.length)
          const present = await restored.selectByIds(notes, after)
          if (dialect === 'sqlite') expect(present).toEqual([])
          else {
            // On PostgreSQL a reader numbers a committed event later: a write committed just
            // before the snapshot may be in it with its event pending. The restored database
            // numbers that event after the snapshot's last one; no record lacks its event.
            const restoredCreates = (await restored.readChanges(manifest.lastEventId, 100_000))
              .filter((e) => e.collection === 'notes' && e.action === 'create')
              .map((e) => e.recordId)
            for (const record of present) expect(restoredCreates).toContain(record.id)
          }
          expect(acknowledged.filter((id) => before.includes(id)).length).toBeGreaterThan(0)
          // Every file is back, byte for byte, and still matches the SHA-256 from its upload.
          const blobs = await openLocalBlobs({ root: join(place.dir, 'storage') })
          const files = backup.manifest.parts.filter((p) => p.path.startsWith('files/'))
          for (const part of files) {
            expect(await sha256Of(blobs, part.path.slice('files/'.length))).toBe(part.sha256)
          }
        } finally {
          await restored.close()
        }
        // A second restore over the now non-empty target is refused without force.
        await expectRefused(
          restoreBackup(place.target, backup.path, { force: false }),
          'ER_BACKUP_TARGET_NOT_EMPTY',
          /--force/,
        )
        // With force it replaces the target (nothing has it open).
        await restoreBackup(place.target, encrypted.path, { force: true, key })
      } finally {
        await place.drop()
      }
    })

    it('verifies an archive, and refuses one with a byte flipped or cut short', async () => {
      const staging = mkdtempSync(join(tmpdir(), 'er-verify-'))
      try {
        const verified = await readBackup(snapshotsOf(t.database), backup.path, {
          staging,
          keepFiles: false,
        })
        expect(verified.manifest.tables).toEqual(backup.manifest.tables)
      } finally {
        rmSync(staging, { recursive: true, force: true })
      }
      const bytes = readFileSync(backup.path)
      for (const [what, damaged] of [
        ['flipped', flip(bytes, Math.floor(bytes.length / 2))],
        ['truncated', bytes.subarray(0, bytes.length - 100)],
      ] as const) {
        const path = join(out, `damaged-${what}.tar.gz`)
        writeFileSync(path, damaged)
        const scratch = mkdtempSync(join(tmpdir(), 'er-verify-'))
        try {
          await expectRefused(
            readBackup(snapshotsOf(t.database), path, { staging: scratch, keepFiles: false }),
            'ER_BACKUP_CORRUPT',
            /damaged/,
          )
        } finally {
          rmSync(scratch, { recursive: true, force: true })
          rmSync(path)
        }
      }
    })

    it('opens an encrypted archive only with its key; a flipped or missing byte is refused', async () => {
      const bytes = readFileSync(encrypted.path)
      expect(bytes.subarray(0, 8).toString('latin1')).toBe('ERBACKUP')
      expect(encrypted.name.endsWith('.tar.gz.enc')).toBe(true)
      const attempt = (path: string, withKey?: Buffer) => {
        const staging = mkdtempSync(join(tmpdir(), 'er-verify-'))
        return readBackup(snapshotsOf(t.database), path, {
          staging,
          keepFiles: false,
          ...(withKey ? { key: withKey } : {}),
        }).finally(() => rmSync(staging, { recursive: true, force: true }))
      }
      expect((await attempt(encrypted.path, key)).manifest.lastEventId).toBe(
        encrypted.manifest.lastEventId,
      )
      await expectRefused(attempt(encrypted.path, randomBytes(32)), 'ER_BACKUP_KEY_INVALID', /key/)
      await expectRefused(attempt(encrypted.path), 'ER_BACKUP_KEY_INVALID', /encrypted/)
      const damaged = join(out, 'damaged.tar.gz.enc')
      for (const variant of [
        flip(bytes, bytes.length - 40),
        flip(bytes, 200),
        bytes.subarray(0, bytes.length - 30),
      ]) {
        writeFileSync(damaged, variant)
        await expectRefused(attempt(damaged, key), 'ER_BACKUP_CORRUPT', /damaged/)
      }
      truncateSync(damaged, 0)
      await expectRefused(attempt(damaged, key), 'ER_BACKUP_CORRUPT', /damaged/)
      rmSync(damaged)
    })
  })
}

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes)
  copy[at] = (copy[at] ?? 0) ^ 0x01
  return copy
}
