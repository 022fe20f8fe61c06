import { chmod, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { EngineError } from '../../../core/errors/index.js'
import type { DatabaseSnapshots, SnapshotFile } from '../snapshots.js'
import { inspectInWorker, snapshotInWorker } from './sqlite-snapshot-worker.js'

/** The one part of a SQLite snapshot: the database file. */
const PART = 'data.db'
const FILES_PAGE = 1000

/**
 * Snapshots of the SQLite file `file` (`<dir>/data.db`): `VACUUM INTO` a new file from a read
 * transaction, in a worker thread (see `sqlite-snapshot-worker.ts`).
 *
 * @example
 *   const snapshots = createSqliteSnapshots({ file: 'er_data/data.db' })
 *   const taken = await snapshots.take('/tmp/backup-parts')   // writes data.db there
 */
export function createSqliteSnapshots(options: { file: string }): DatabaseSnapshots {
  const { file } = options
  return {
    dialect: 'sqlite',
    async take(folder) {
      const copy = join(folder, PART)
      const { facts } = await snapshotInWorker(file, copy)
      // The copy holds password hashes and keys like the original: owner-only.
      await chmod(copy, 0o600)
      return {
        parts: [PART],
        facts,
        database: {},
        files: () => liveFiles(copy),
        release: async () => {},
      }
    },
    async inspect(folder) {
      return inspectInWorker(join(folder, PART)).catch((error: Error) => {
        throw new EngineError(
          'ER_BACKUP_CORRUPT',
          `The archive's database does not open (${error.message}). Nothing was restored; use another copy.`,
        )
      })
    },
    async targetIsEmpty() {
      const info = await stat(file).catch(() => undefined)
      return !info || info.size === 0
    },
    async assertTargetNotLive() {
      if (!(await stat(file).catch(() => undefined))) return
      // Another connection (a running server, even idle) holds a shared lock on the WAL index:
      // the exclusive lock is refused at once, and nothing is touched.
      const db = new Database(file, { fileMustExist: true })
      try {
        db.pragma('busy_timeout = 0')
        db.pragma('locking_mode = exclusive')
        db.exec('begin exclusive')
        db.exec('commit')
      } catch {
        throw new EngineError(
          'ER_BACKUP_TARGET_NOT_EMPTY',
          `${file} is open in a running server. Stop it first; a restore never replaces a live database.`,
        )
      } finally {
        db.close()
      }
    },
    async restore(folder) {
      for (const stale of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) {
        await rm(stale, { force: true })
      }
      // The parts folder sits in the data directory, so this is a rename on one file system.
      await rename(join(folder, PART), file)
      await chmod(file, 0o600)
    },
  }
}

/** The live rows of `_files` in the copy, a page at a time. */
async function* liveFiles(copy: string): AsyncIterable<SnapshotFile> {
  const db = new Database(copy, { readonly: true, fileMustExist: true })
  try {
    const page = db.prepare(
      `select collection_id, record_id, name, size, sha256 from _files
       where deleted is null and (collection_id, record_id, name) > (?, ?, ?)
       order by collection_id, record_id, name limit ${FILES_PAGE}`,
    )
    let after = ['', '', '']
    for (;;) {
      const rows = page.all(...after) as {
        collection_id: string
        record_id: string
        name: string
        size: number
        sha256: string
      }[]
      for (const row of rows) {
        yield {
          collectionId: row.collection_id,
          recordId: row.record_id,
          name: row.name,
          size: Number(row.size),
          sha256: row.sha256,
        }
      }
      const last = rows.at(-1)
      if (!last || rows.length < FILES_PAGE) return
      after = [last.collection_id, last.record_id, last.name]
    }
  } finally {
    db.close()
  }
}
