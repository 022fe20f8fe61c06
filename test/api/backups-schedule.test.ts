/**
 * Scheduled backups as two nodes sharing one database run them: every tick is claimed by exactly
 * one node, and each backup taken is verified before it counts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createPostgresSnapshots } from '../../src/adapters/snapshots/postgres/postgres-snapshots.js'
import { createSqliteSnapshots } from '../../src/adapters/snapshots/sqlite/sqlite-snapshots.js'
import type { Store } from '../../src/adapters/store/store.js'
import { startBackupSchedule } from '../../src/services/backups/backup-schedule.js'
import { createBackupsService, type BackupRun } from '../../src/services/backups/backups-service.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

for (const dialect of dialects) {
  describe(`scheduled backups (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine & { blobs: BlobStore }
    let otherNode: Store
    let dir: string
    beforeAll(async () => {
      t = await createFilesTestEngine(dialect, 'local', undefined)
      otherNode = await t.openAnotherStore()
      dir = mkdtempSync(join(tmpdir(), 'er-scheduled-'))
    })
    afterAll(async () => {
      await otherNode?.close()
      await t?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('takes one verified backup per tick across two nodes', async () => {
      const claims = new Map<string, string[]>()
      const runs: BackupRun[] = []
      const node = (name: string, store: Store) => {
        const backups = createBackupsService({
          sources: {
            snapshots:
              'file' in t.database
                ? createSqliteSnapshots({ file: t.database.file })
                : createPostgresSnapshots({ url: t.database.url }),
            blobs: t.blobs,
            migrationsDir: join(t.dir, 'migrations'),
          },
          dir,
        })
        return startBackupSchedule({
          pattern: '* * * * * *',
          backups,
          claim: async (tick) => {
            const now = new Date().toISOString()
            const until = new Date(Date.now() + 3600_000).toISOString()
            const won = await store.auth.claimThrottleSlot(`backup-schedule:${tick}`, now, until)
            if (won) claims.set(tick, [...(claims.get(tick) ?? []), name])
            return won
          },
          onRun: (run) => runs.push(run),
          store,
        })
      }
      // Every second both nodes race to claim the same tick (`…T12:07:31`); a node busy with a
      // backup skips ticks (croner's protect), the other may take them.
      const a = node('a', t.engine.store)
      const b = node('b', otherNode)
      const deadline = Date.now() + 60_000
      while (runs.length === 0 && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 200))
      }
      await new Promise((done) => setTimeout(done, 2500))
      a.stop()
      b.stop()
      // Let a backup already under way finish.
      const settle = Date.now() + 30_000
      while (runs.length < claims.size && Date.now() < settle) {
        await new Promise((done) => setTimeout(done, 200))
      }
      expect(runs.length).toBeGreaterThanOrEqual(1)
      for (const [tick, winners] of claims) expect(winners, tick).toHaveLength(1)
      expect(runs.length).toBe(claims.size)
      for (const run of runs) expect(run, JSON.stringify(run)).toMatchObject({ verified: true })
      const archives = readdirSync(dir).filter((n) => n.endsWith('.tar.gz'))
      expect(archives).toHaveLength(runs.length)
      // Each scheduled backup is in the audit log once, by the system, with its tick.
      const audit = (await t.engine.store.audit.page(0, 1000)).filter(
        (r) => r.action === 'backup.create',
      )
      expect(audit.map((r) => r.target).sort()).toEqual(runs.map((r) => r.name).sort())
      expect(audit.every((r) => r.actor === 'system')).toBe(true)
      expect(
        audit.map((r) => (JSON.parse(r.detail) as { scheduled: string }).scheduled).sort(),
      ).toEqual([...claims.keys()].sort())
    })
  })
}
