/**
 * A place to restore a backup into, as a fresh deployment would be: a new data folder and, on
 * PostgreSQL, a new empty database (dropped by `drop()`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openLocalBlobs } from '../../src/adapters/blobs/local/local-blobs.js'
import { createPostgresSnapshots } from '../../src/adapters/snapshots/postgres/postgres-snapshots.js'
import { createSqliteSnapshots } from '../../src/adapters/snapshots/sqlite/sqlite-snapshots.js'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/adapters/store/store.js'
import type { RestoreTarget } from '../../src/services/backups/restore-backup.js'
import { postgresUrl, type DialectName } from './dialects.js'

/** `schema`: the PostgreSQL schema the backed-up engine used (its search_path). */
export async function newRestoreTarget(
  dialect: DialectName,
  schema: string,
): Promise<{
  target: RestoreTarget
  dir: string
  openStore(): Promise<Store>
  drop(): Promise<void>
}> {
  const dir = join(mkdtempSync(join(tmpdir(), 'er-restore-')), 'data')
  const common = {
    dataDir: dir,
    migrationsDir: join(dir, 'migrations'),
    openBlobs: () => openLocalBlobs({ root: join(dir, 'storage') }),
  }
  if (dialect === 'sqlite') {
    const file = join(dir, 'data.db')
    return {
      target: { ...common, snapshots: createSqliteSnapshots({ file }) },
      dir,
      openStore: () => openSqliteStore({ file }),
      drop: async () => rmSync(join(dir, '..'), { recursive: true, force: true }),
    }
  }
  const database = `er_restore_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create database "${database}"`)
  await admin.end()
  const url = new URL(postgresUrl)
  url.pathname = `/${database}`
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    target: { ...common, snapshots: createPostgresSnapshots({ url: url.toString() }) },
    dir,
    openStore: () => openPostgresStore({ url: url.toString(), maxConnections: 2 }),
    drop: async () => {
      rmSync(join(dir, '..'), { recursive: true, force: true })
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      await client.query(`drop database if exists "${database}" with (force)`)
      await client.end()
    },
  }
}
