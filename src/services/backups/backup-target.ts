import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import { EngineError } from '../../core/errors/index.js'
import { backupTime } from './backup-names.js'

export interface BackupListing {
  name: string
  size: number
  created: string
  encrypted: boolean
}

/**
 * Where finished archives are kept: a local folder, or any S3-compatible bucket through the blob
 * port. Archives are always built (and verified) in a local folder first; `keep` then moves the
 * file in (local) or uploads it and removes the local copy (S3). Only names that `backupTime`
 * recognises are ever listed, served or deleted, so nothing else in the folder or bucket is.
 *
 * @example
 *   const target = createLocalBackupTarget('er_data/backups')
 *   await target.keep(name, '/tmp/build/' + name)
 *   for (const b of await target.list()) console.log(b.name, b.size)
 */
export interface BackupTarget {
  readonly kind: 'local' | 's3'
  /** The folder, or `s3://bucket/prefix`, for messages. */
  readonly location: string
  /** Archives newest first. */
  list(): Promise<BackupListing[]>
  /** Takes in the finished archive at `path` under `name` (the local file is moved or removed). */
  keep(name: string, path: string): Promise<{ size: number }>
  /** The archive's bytes, or undefined when there is none by that name. */
  open(name: string): Promise<{ body: Readable; size: number } | undefined>
  /** A local file holding the archive: itself (local) or a download into `scratch` (S3). */
  fetch(name: string, scratch: string): Promise<string>
  delete(name: string): Promise<void>
  close(): Promise<void>
}

/** Archives as files in `dir` (`ER_BACKUP_DIR`). */
export function createLocalBackupTarget(dir: string): BackupTarget {
  const pathOf = (name: string) => {
    if (!backupTime(name)) throw notFound(name)
    return join(dir, name)
  }
  const statOf = async (name: string) => {
    const info = await stat(pathOf(name)).catch(() => undefined)
    return info?.isFile() ? info : undefined
  }
  return {
    kind: 'local',
    location: dir,
    async list() {
      const names = await readdir(dir).catch(() => [] as string[])
      const items: BackupListing[] = []
      for (const name of names) {
        const info = backupTime(name) && (await statOf(name))
        if (info) items.push(listing(name, info.size))
      }
      return newestFirst(items)
    },
    async keep(name, path) {
      if (path !== pathOf(name)) await rename(path, pathOf(name))
      return { size: (await stat(pathOf(name))).size }
    },
    async open(name) {
      const info = backupTime(name) && (await statOf(name))
      if (!info) return undefined
      return { body: createReadStream(pathOf(name)), size: info.size }
    },
    async fetch(name) {
      if (!(await statOf(name))) throw notFound(name)
      return pathOf(name)
    },
    async delete(name) {
      await rm(pathOf(name), { force: true })
    },
    async close() {},
  }
}

/**
 * Archives as objects of a bucket (`ER_BACKUP_TARGET=s3`), one object per archive at
 * `<prefix><name>`; uploads stream as multipart uploads and never leave a partial object.
 * Each upload is read back and its SHA-256 compared with the verified local archive's before
 * the local copy goes: a size check alone misses a flipped byte, and an ETag is an MD5 only for
 * single-part uploads on some services. A mismatch deletes the object and throws, so the run
 * reports it and no damaged archive is listed as a backup.
 */
export function createBlobBackupTarget(blobs: BlobStore, location: string): BackupTarget {
  const keyOf = (name: string) => {
    if (!backupTime(name)) throw notFound(name)
    return name
  }
  return {
    kind: 's3',
    location,
    async list() {
      const items: BackupListing[] = []
      for await (const blob of blobs.list('')) {
        // Only archives at the prefix itself: nothing in a sub-folder, nothing else.
        if (backupTime(blob.key)) items.push(listing(blob.key, blob.size))
      }
      return newestFirst(items)
    },
    async keep(name, path) {
      const { size } = await stat(path)
      const expected = await sha256Of(createReadStream(path))
      await blobs.putFile(keyOf(name), path, { contentType: contentTypeOf(name) })
      // What the bucket holds must be what was verified, byte for byte.
      const stored = await blobs.stat(name)
      const body = stored?.size === size ? await blobs.get(name) : undefined
      const actual = body ? await sha256Of(body) : undefined
      if (actual !== expected) {
        await blobs.delete(name).catch(() => {})
        throw new Error(
          stored?.size !== size
            ? `the upload of ${name} holds ${stored?.size ?? 0} bytes, not ${size}; it was deleted`
            : `the upload of ${name} does not read back as written (SHA-256 differs); it was deleted`,
        )
      }
      await rm(path, { force: true })
      return { size }
    },
    async open(name) {
      if (!backupTime(name)) return undefined
      const info = await blobs.stat(name)
      const body = info && (await blobs.get(name))
      return info && body ? { body, size: info.size } : undefined
    },
    async fetch(name, scratch) {
      const body = await blobs.get(keyOf(name))
      if (!body) throw notFound(name)
      const path = join(scratch, basename(name))
      await pipeline(body, createWriteStream(path, { mode: 0o600, flags: 'wx' }))
      return path
    },
    async delete(name) {
      await blobs.delete(keyOf(name))
    },
    close: () => blobs.close(),
  }
}

async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of body) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

function listing(name: string, size: number): BackupListing {
  return {
    name,
    size,
    created: (backupTime(name) as Date).toISOString(),
    encrypted: name.endsWith('.enc'),
  }
}

const newestFirst = (items: BackupListing[]) => items.sort((a, b) => b.name.localeCompare(a.name))

const contentTypeOf = (name: string) =>
  name.endsWith('.enc') ? 'application/octet-stream' : 'application/gzip'

function notFound(name: string): EngineError {
  return new EngineError('ER_BACKUP_NOT_FOUND', `There is no backup "${name.slice(0, 100)}".`)
}
