import type { Clock } from '../../core/clock.js'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import type { Store } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { fileBlobKey, thumbPrefix } from './file-names.js'
import type { TusUploads } from './tus-uploads.js'

/** How long a blob without a manifest row is left alone: it may belong to a write in progress. */
const ORPHAN_GRACE_MS = 3600_000
/** Orphans are swept this often (they only come from crashes between a blob and its commit). */
const SWEEP_EVERY_MS = 6 * 3600_000

/**
 * Deleting blobs after their records let go of them. A record's transaction marks its removed
 * files in `_files`; after the commit the drain deletes their blobs (and thumbnails), then the
 * rows. A failure (storage down, process killed) leaves the rows marked, so the next drain — on
 * the next commit or the timer — retries: every removed file is eventually deleted, on any node.
 * The sweep catches what no row describes: blobs stored by a write that crashed before its
 * commit, files of dropped collections or fields, and expired tus uploads.
 */
export function createFileHousekeeping(deps: {
  store: Store
  registry: SchemaRegistry
  blobs: BlobStore
  tus: TusUploads
  clock: Clock
  intervalMs: number
  onError(error: unknown): void
}) {
  const { store, blobs } = deps
  let draining: Promise<number> | undefined
  let again = false
  let drainTimer: NodeJS.Timeout | undefined
  let sweepTimer: NodeJS.Timeout | undefined
  let lastSweep = 0

  /** Deletes the blobs of every file marked deleted; returns how many were forgotten. */
  function drain(): Promise<number> {
    if (draining) {
      again = true
      return draining
    }
    draining = (async () => {
      let total = 0
      do {
        again = false
        for (;;) {
          const rows = await store.files.pendingDeletions(100)
          let done = 0
          for (const row of rows) {
            try {
              await blobs.delete(fileBlobKey(row.collectionId, row.recordId, row.name))
              await blobs.deletePrefix(thumbPrefix(row.collectionId, row.recordId, row.name))
              await store.files.forgetDeleted(row.collectionId, row.recordId, row.name)
              done++
            } catch (error) {
              deps.onError(error)
            }
          }
          total += done
          // Stop when nothing is left, or when nothing could be deleted (retried later).
          if (rows.length < 100 || done === 0) break
        }
      } while (again)
      return total
    })().finally(() => {
      draining = undefined
    })
    return draining
  }

  function wake(): void {
    void drain().catch(deps.onError)
  }

  /** See the module comment; returns how many blobs it deleted. */
  async function sweep(options: { graceMs?: number } = {}): Promise<number> {
    const now = deps.clock.now().getTime()
    const grace = options.graceMs ?? ORPHAN_GRACE_MS
    await deps.registry.refreshIfStale()
    const keep = new Map<string, Set<string>>()
    for (const collection of deps.registry.list()) {
      keep.set(
        collection.id,
        new Set(collection.fields.filter((f) => f.type === 'file').map((f) => f.id)),
      )
    }
    await store.files.markDetached(keep, new Date(now).toISOString())
    await drain()
    let deleted = 0
    const byRecord = new Map<string, { key: string; name: string }[]>()
    for await (const blob of blobs.list('')) {
      if (now - blob.modified.getTime() < grace) continue
      const [collectionId, recordId, first] = blob.key.split('/')
      if (!collectionId || !recordId || !first) continue
      const name = first.startsWith('thumbs_') ? first.slice('thumbs_'.length) : first
      const list = byRecord.get(`${collectionId}/${recordId}`) ?? []
      list.push({ key: blob.key, name })
      byRecord.set(`${collectionId}/${recordId}`, list)
    }
    for (const [record, blobsOfRecord] of byRecord) {
      const [collectionId, recordId] = record.split('/') as [string, string]
      const known = await store.files.knownNames(collectionId, recordId, [
        ...new Set(blobsOfRecord.map((b) => b.name)),
      ])
      for (const blob of blobsOfRecord) {
        if (known.has(blob.name)) continue
        await blobs.delete(blob.key)
        deleted++
      }
    }
    await deps.tus.expire(now)
    return deleted
  }

  function start(): void {
    if (deps.intervalMs <= 0 || drainTimer) return
    lastSweep = deps.clock.now().getTime()
    drainTimer = setInterval(() => {
      wake()
      if (deps.clock.now().getTime() - lastSweep >= SWEEP_EVERY_MS) {
        lastSweep = deps.clock.now().getTime()
        void sweep().catch(deps.onError)
      }
    }, deps.intervalMs)
    drainTimer.unref()
    // The first drain at start: deletions left by a previous run.
    sweepTimer = setTimeout(wake, 0)
    sweepTimer.unref()
  }

  async function stop(): Promise<void> {
    clearInterval(drainTimer)
    clearTimeout(sweepTimer)
    drainTimer = undefined
    await draining?.catch(() => {})
  }

  return { drain, wake, sweep, start, stop }
}
