import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import type { Pack } from 'tar-stream'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import type { DatabaseSnapshots } from '../../adapters/snapshots/snapshots.js'
import { fileBlobKey } from '../files/file-names.js'
import { createEncryptStream } from './archive-crypto.js'
import { backupName } from './backup-names.js'
import { MANIFEST_PATH, type BackupManifest, type ManifestPart } from './backup-manifest.js'

/** What a backup reads: the database, the stored files, and the schema's migration files. */
export interface BackupSources {
  snapshots: DatabaseSnapshots
  blobs: BlobStore
  migrationsDir: string
}

export interface BackupProgress {
  phase: 'database' | 'migrations' | 'files' | 'done'
  /** Bytes written to the archive so far (compressed, encrypted). */
  bytes: number
  files: number
}

export interface CreatedBackup {
  name: string
  path: string
  size: number
  manifest: BackupManifest
}

/**
 * Takes a backup into `outDir`: a consistent snapshot of the database (writes go on meanwhile),
 * the migration files, every file the snapshot's records refer to, and `manifest.json` last, as
 * a gzipped tar, encrypted when `key` is given. Everything streams: no part is ever held in
 * memory whole. The archive appears under its final name only once it is complete.
 *
 * @example
 *   const { path, manifest } = await createBackup(sources, { outDir: 'er_data/backups', key })
 */
export async function createBackup(
  sources: BackupSources,
  options: { outDir: string; key?: Buffer; now?: Date; onProgress?: (p: BackupProgress) => void },
): Promise<CreatedBackup> {
  const created = options.now ?? new Date()
  await mkdir(options.outDir, { recursive: true, mode: 0o700 })
  // In the output folder, so the finished archive is renamed (never copied) into place.
  const scratch = await mkdtemp(join(options.outDir, '.partial-'))
  try {
    const partsDir = join(scratch, 'database')
    await mkdir(partsDir, { mode: 0o700 })
    const name = backupName(created, options.key !== undefined)
    const archive = join(scratch, name)
    const progress: BackupProgress = { phase: 'database', bytes: 0, files: 0 }
    const report = () => options.onProgress?.({ ...progress })

    const taken = await sources.snapshots.take(partsDir)
    // Loaded here: a server that never backs up does not hold tar-stream (see main.ts).
    const pack = (await import('tar-stream')).pack()
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        progress.bytes += chunk.length
        callback(null, chunk)
      },
    })
    const written = pipeline(
      Readable.from(pack),
      createGzip({ level: 6 }),
      ...(options.key ? [createEncryptStream(options.key)] : []),
      counter,
      createWriteStream(archive, { mode: 0o600, flags: 'wx' }),
    )
    // Fails on its own if the disk fills: surfaced by the `await written` below.
    written.catch(() => {})
    const parts: ManifestPart[] = []
    const files: BackupManifest['files'] = { count: 0, bytes: 0, missing: [], mismatched: [] }
    let manifest: BackupManifest
    try {
      try {
        for (const part of taken.parts) {
          const path = join(partsDir, part)
          parts.push(await addFile(pack, `database/${part}`, path))
          report()
        }
        progress.phase = 'migrations'
        for (const file of await migrationFiles(sources.migrationsDir)) {
          parts.push(await addFile(pack, `migrations/${file}`, join(sources.migrationsDir, file)))
        }
        progress.phase = 'files'
        for await (const file of taken.files()) {
          const key = fileBlobKey(file.collectionId, file.recordId, file.name)
          const info = await sources.blobs.stat(key)
          const body = info && (await sources.blobs.get(key))
          if (!info || !body) {
            // Deleted after the snapshot (its record changed since): the snapshot's record still
            // names it, so say so rather than fail the whole backup.
            files.missing.push(key)
            continue
          }
          const part = await addStream(pack, `files/${key}`, info.size, body)
          if (part.sha256 !== file.sha256) files.mismatched.push(key)
          parts.push(part)
          files.count++
          files.bytes += part.size
          progress.files++
          report()
        }
      } finally {
        await taken.release()
      }
      manifest = {
        format: 'engineroom-backup',
        version: 1,
        created: created.toISOString(),
        database: { ...taken.database, dialect: sources.snapshots.dialect },
        ...taken.facts,
        parts,
        files,
      }
      const text = Buffer.from(JSON.stringify(manifest, null, 1))
      await addStream(pack, MANIFEST_PATH, text.length, Readable.from([text]))
      pack.finalize()
      await written
    } catch (error) {
      // Ends the archive's pipeline too, so its file is closed before the folder is removed.
      pack.destroy(error as Error)
      await written.catch(() => {})
      throw error
    }
    const path = join(options.outDir, name)
    await rename(archive, path)
    progress.phase = 'done'
    report()
    return { name, path, size: (await stat(path)).size, manifest }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

async function migrationFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
  return entries
    .filter((e) => e.isFile() && /^[A-Za-z0-9_.-]+$/.test(e.name))
    .map((e) => e.name)
    .sort()
}

async function addFile(pack: Pack, path: string, file: string): Promise<ManifestPart> {
  const { size } = await stat(file)
  // Large reads: a database part is tens of MB, and each chunk costs a tar write and a drain.
  return addStream(pack, path, size, createReadStream(file, { highWaterMark: 1024 * 1024 }))
}

/** Writes one tar entry from a stream, hashing it on the way; waits for the entry to finish. */
async function addStream(
  pack: Pack,
  path: string,
  size: number,
  body: Readable,
): Promise<ManifestPart> {
  const hash = createHash('sha256')
  let finish: (error?: Error | null) => void = () => {}
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve())
  })
  const entry = pack.entry({ name: path, size, mode: 0o600, mtime: new Date(0) }, (error) =>
    finish(error),
  )
  let count = 0
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer
      hash.update(bytes)
      count += bytes.length
      if (!entry.write(bytes)) await once(entry, 'drain')
    }
  } catch (error) {
    entry.destroy(error as Error)
    throw error
  }
  entry.end(undefined)
  await finished
  return { path, size: count, sha256: hash.digest('hex') }
}
