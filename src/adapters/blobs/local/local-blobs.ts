import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { assertBlobKey, type BlobInfo, type BlobRange, type BlobStore } from '../blobs.js'

/** Where half-written blobs wait for their rename; never listed. */
const TEMP_DIR = '.tmp'
/** Temp files older than this were left by a crash (writes in progress are far younger). */
const STALE_TEMP_MS = 24 * 3600_000

/**
 * Blobs as files under `root` (`<dir>/storage`), mode 0600 in 0700 folders. A blob is written to
 * `.tmp/` and renamed into place, so readers never see half a file and a crash leaves only a temp
 * file (removed at the next start).
 *
 * @example
 *   const blobs = await openLocalBlobs({ root: 'er_data/storage' })
 *   await blobs.put('c1/r1/cv_abc1234567.pdf', createReadStream('cv.pdf'), { contentType: 'application/pdf' })
 */
export async function openLocalBlobs(options: { root: string }): Promise<BlobStore> {
  const { root } = options
  // One folder per process: `serve --workers` runs several on the same storage.
  const temp = join(root, TEMP_DIR, randomBytes(6).toString('hex'))
  await mkdir(temp, { recursive: true, mode: 0o700 })
  await removeStaleTemp(join(root, TEMP_DIR))
  const pathOf = (key: string) => {
    assertBlobKey(key)
    return join(root, ...key.split('/'))
  }

  async function moveIntoPlace(from: string, key: string): Promise<void> {
    const target = pathOf(key)
    await mkdir(dirname(target), { recursive: true, mode: 0o700 })
    await rename(from, target)
  }

  return {
    kind: 'local',
    async put(key, body: Readable) {
      pathOf(key)
      const scratch = join(temp, randomBytes(12).toString('hex'))
      try {
        await pipeline(body, createWriteStream(scratch, { mode: 0o600, flags: 'wx' }))
        await moveIntoPlace(scratch, key)
      } catch (error) {
        await rm(scratch, { force: true })
        throw error
      }
    },
    async putFile(key, path) {
      pathOf(key)
      const scratch = join(temp, randomBytes(12).toString('hex'))
      try {
        // A hard link shares the bytes (same file system); otherwise copy them.
        await link(path, scratch).catch(() => copyFile(path, scratch))
        await moveIntoPlace(scratch, key)
      } catch (error) {
        await rm(scratch, { force: true })
        throw error
      }
    },
    async get(key, range?: BlobRange) {
      const handle = await open(pathOf(key), 'r').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined
        throw error
      })
      if (!handle) return undefined
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {})
    },
    async stat(key) {
      const info = await stat(pathOf(key)).catch(() => undefined)
      return info?.isFile() ? { key, size: info.size, modified: info.mtime } : undefined
    },
    async delete(key) {
      await unlink(pathOf(key)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    },
    async deletePrefix(prefix) {
      assertBlobKey(prefix, true)
      let count = 0
      for await (const _ of walk(root, join(root, ...prefix.split('/')))) count++
      await rm(join(root, ...prefix.split('/')), { recursive: true, force: true })
      return count
    },
    async *list(prefix) {
      assertBlobKey(prefix, true)
      // Walk the deepest folder the prefix names, then filter on the rest of it.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
      for await (const info of walk(root, join(root, ...folder.split('/').filter(Boolean)))) {
        if (info.key.startsWith(prefix)) yield info
      }
    },
    async ping() {
      await stat(root)
    },
    async close() {},
  }
}

async function removeStaleTemp(folder: string): Promise<void> {
  for (const entry of await readdir(folder).catch(() => [] as string[])) {
    const info = await stat(join(folder, entry)).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS)
      await rm(join(folder, entry), { recursive: true, force: true })
  }
}

async function* walk(root: string, folder: string): AsyncGenerator<BlobInfo> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) {
      if (folder === root && entry.name === TEMP_DIR) continue
      yield* walk(root, path)
    } else if (entry.isFile()) {
      const info = await stat(path).catch(() => undefined)
      if (info)
        yield {
          key: relative(root, path).split(sep).join('/'),
          size: info.size,
          modified: info.mtime,
        }
    }
  }
}
