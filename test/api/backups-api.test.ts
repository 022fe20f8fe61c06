/**
 * `GET|POST /api/backups` and `GET /api/backups/{name}`: superusers only, a backup taken and
 * verified before the answer, the download byte for byte, names that are not backups refused,
 * and the outcome in /metrics.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresSnapshots } from '../../src/adapters/snapshots/postgres/postgres-snapshots.js'
import { createSqliteSnapshots } from '../../src/adapters/snapshots/sqlite/sqlite-snapshots.js'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createMetrics } from '../../src/http/ops/metrics.js'
import { buildServer } from '../../src/http/server.js'
import { createBackupsService } from '../../src/services/backups/backups-service.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

for (const dialect of dialects) {
  describe(`/api/backups (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine & { blobs: BlobStore }
    let app: FastifyInstance
    let dir: string
    beforeAll(async () => {
      t = await createFilesTestEngine(dialect, 'local', undefined)
      dir = mkdtempSync(join(tmpdir(), 'er-api-backups-'))
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
        keep: { last: 2 },
      })
      app = await buildServer(t.engine, { backups, metrics: createMetrics() })
    })
    afterAll(async () => {
      await app?.close()
      await t?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })
    const call = (method: 'GET' | 'POST', url: string, token?: string) =>
      app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} })

    it('is for superusers only', async () => {
      for (const [method, url] of [
        ['GET', '/api/backups'],
        ['POST', '/api/backups'],
        ['GET', '/api/backups/engineroom-20261203T110500Z-abcdef.tar.gz'],
      ] as const) {
        const res = await call(method, url)
        expect(res.statusCode, `${method} ${url}`).toBe(401)
        expect(res.headers['content-type']).toContain('application/problem+json')
      }
      expect(await import('node:fs').then((fs) => fs.readdirSync(dir))).toEqual([])
    })

    it('takes verified backups, lists and serves them, keeps ER_BACKUP_KEEP of them', async () => {
      const names: string[] = []
      for (let i = 0; i < 3; i++) {
        const res = await call('POST', '/api/backups', t.token)
        expect(res.statusCode, res.body).toBe(201)
        const run = res.json() as {
          name: string
          verified: boolean
          size: number
          pruned: string[]
        }
        expect(run).toMatchObject({ verified: true })
        expect(run.size).toBeGreaterThan(0)
        names.push(run.name)
        // Names carry the second they were taken: apart, so retention sees three.
        await new Promise((done) => setTimeout(done, 1100))
      }
      const list = (await call('GET', '/api/backups', t.token)).json() as {
        items: { name: string; size: number; encrypted: boolean }[]
      }
      expect(list.items.map((i) => i.name)).toEqual([names[2], names[1]])
      const download = await call('GET', `/api/backups/${names[2]}`, t.token)
      expect(download.statusCode).toBe(200)
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${names[2]}"`)
      expect(download.rawPayload.equals(readFileSync(join(dir, names[2] as string)))).toBe(true)
      // Each backup taken and downloaded is in the audit log, by whom.
      const audit = (await call('GET', '/api/audit', t.token)).json() as {
        items: { action: string; target: string; actor: string }[]
      }
      const backupRows = audit.items.filter((r) => r.action.startsWith('backup.'))
      expect(backupRows.map((r) => `${r.action} ${r.target}`)).toEqual([
        ...names.map((n) => `backup.create ${n}`),
        `backup.download ${names[2]}`,
      ])
      expect(backupRows.every((r) => r.actor.startsWith('_superusers/'))).toBe(true)
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      expect(metrics.body).toMatch(/er_backup_runs\{outcome="verified"\} 3/)
      expect(metrics.body).toMatch(/er_backup_last_verified_timestamp_seconds [1-9]/)
    })

    it('refuses names that are not backups', async () => {
      for (const name of ['..%2F..%2Fdata.db', 'data.db', '.partial-x', 'engineroom-x.tar.gz']) {
        const res = await call('GET', `/api/backups/${name}`, t.token)
        expect([400, 404], `${name}: ${res.body}`).toContain(res.statusCode)
      }
    })
  })
}
