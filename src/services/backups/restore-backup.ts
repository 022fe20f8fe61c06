import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import type { DatabaseSnapshots } from '../../adapters/snapshots/snapshots.js'
import type { Store } from '../../adapters/store/store.js'
import { appendAuditAs } from '../audit/audit-log.js'
import { systemClock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { BackupManifest } from './backup-manifest.js'
import { readBackup } from './read-backup.js'

/** Where a restore writes: the data directory, the database the snapshots port targets, blobs. */
export interface RestoreTarget {
  snapshots: DatabaseSnapshots
  /** Opened only once the archive verified (it may create folders). */
  openBlobs(): Promise<BlobStore>
  dataDir: string
  migrationsDir: string
  /**
   * Opens the restored database, to record the restore in its audit log (as `cli`): the log
   * then tells that (and from which archive) the data came back. Without it, nothing is recorded.
   */
  openStore?(): Promise<Store>
}

/**
 * Restores an archive into an empty target: the archive is read and verified whole first
 * (see `readBackup`), and only then is the database replaced, the migration files put back and
 * every stored file written to the blob store. Refuses a target holding data unless `force`,
 * and a database a running server has open even then.
 *
 * @example
 *   await restoreBackup(target, 'backups/engineroom-20261203T110500Z-k3x9q0.tar.gz', { force: false })
 */
export async function restoreBackup(
  target: RestoreTarget,
  archive: string,
  options: { key?: Buffer; force: boolean },
): Promise<BackupManifest> {
  await stat(archive).catch(() => {
    throw new EngineError('ER_BACKUP_NOT_FOUND', `There is no archive at ${archive}.`)
  })
  const empty = (await isEmptyFolder(target.dataDir)) && (await target.snapshots.targetIsEmpty())
  if (!empty && !options.force) {
    throw new EngineError(
      'ER_BACKUP_TARGET_NOT_EMPTY',
      `${target.dataDir} (or its database) already holds data. Restore into a new --dir (or an empty database), or add --force to replace it.`,
    )
  }
  await target.snapshots.assertTargetNotLive()
  await mkdir(target.dataDir, { recursive: true, mode: 0o700 })
  // Inside the data directory: the database file and folders are renamed into place.
  const staging = await mkdtemp(join(target.dataDir, '.restore-'))
  try {
    const { manifest } = await readBackup(target.snapshots, archive, {
      ...(options.key ? { key: options.key } : {}),
      staging,
      keepFiles: true,
    })
    await target.snapshots.restore(join(staging, 'database'), manifest.database)
    await rm(target.migrationsDir, { recursive: true, force: true })
    await mkdir(join(staging, 'migrations'), { recursive: true, mode: 0o700 })
    await rename(join(staging, 'migrations'), target.migrationsDir)
    const blobs = await target.openBlobs()
    try {
      const filesRoot = join(staging, 'files')
      for await (const file of walkFiles(filesRoot)) {
        const key = relative(filesRoot, file).split(sep).join('/')
        await blobs.put(key, createReadStream(file), { contentType: 'application/octet-stream' })
      }
    } finally {
      await blobs.close()
    }
    if (target.openStore) await recordRestore(await target.openStore(), archive, manifest)
    return manifest
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function recordRestore(store: Store, archive: string, manifest: BackupManifest) {
  try {
    await store.transaction((tx) =>
      appendAuditAs(
        tx,
        'cli',
        {
          action: 'backup.restore',
          target: basename(archive),
          detail: {
            created: manifest.created,
            lastEventId: manifest.lastEventId,
            files: manifest.files.count,
          },
        },
        // A command has no engine yet: its clock is the system's.
        systemClock,
      ),
    )
  } finally {
    await store.close()
  }
}

async function isEmptyFolder(folder: string): Promise<boolean> {
  const entries = await readdir(folder).catch(() => [] as string[])
  return entries.length === 0
}

async function* walkFiles(folder: string): AsyncGenerator<string> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) yield* walkFiles(path)
    else if (entry.isFile()) yield path
  }
}
