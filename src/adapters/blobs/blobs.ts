/**
 * The blob port: where uploaded files and their thumbnails live. Two adapters implement it,
 * local disk under `<dir>/storage` (`local/local-blobs.ts`) and any S3-compatible service
 * (`s3/s3-blobs.ts`: AWS, MinIO, R2, Ceph). Everything streams: no method ever holds a whole
 * blob in memory, so a 1 GB file costs the same RAM as a 1 KB one.
 *
 * Keys are `/`-separated segments of `[A-Za-z0-9_.-]` (never `.` or `..`), for example
 * `<collection id>/<record id>/<file name>`; {@link assertBlobKey} checks them.
 */
import type { Readable } from 'node:stream'

export interface BlobInfo {
  key: string
  size: number
  modified: Date
}

/** Inclusive byte offsets, as in an HTTP `Range` header. */
export interface BlobRange {
  start: number
  end: number
}

export interface BlobStore {
  /** `local` or `s3`, for logs and the readiness check. */
  readonly kind: 'local' | 's3'
  /**
   * Streams `body` into `key`, replacing any blob there. The blob appears whole or not at all:
   * a stream that fails midway leaves nothing behind (and the error is thrown).
   */
  put(key: string, body: Readable, options: { contentType: string }): Promise<void>
  /**
   * Stores a local file under `key` (a finished resumable upload). The file itself stays; the
   * local adapter hard-links it when it can, so no byte is copied.
   */
  putFile(key: string, path: string, options: { contentType: string }): Promise<void>
  /** The blob's bytes (or the inclusive `range` of them), or undefined when there is none. */
  get(key: string, range?: BlobRange): Promise<Readable | undefined>
  stat(key: string): Promise<BlobInfo | undefined>
  /** Deletes one blob; deleting a missing blob is not an error. */
  delete(key: string): Promise<void>
  /** Deletes every blob whose key starts with `prefix` (which ends with `/`); returns how many. */
  deletePrefix(prefix: string): Promise<number>
  /** Every blob whose key starts with `prefix` (`''` for all), in no promised order. */
  list(prefix: string): AsyncIterable<BlobInfo>
  /** Throws when the storage cannot be reached (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

const SEGMENT = /^[A-Za-z0-9_.-]{1,200}$/

/** Throws unless `key` is a safe blob key (see the module comment); a prefix may end with `/`. */
export function assertBlobKey(key: string, prefix = false): void {
  if (prefix && key === '') return
  const segments = (prefix && key.endsWith('/') ? key.slice(0, -1) : key).split('/')
  if (
    key.length > 1024 ||
    segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..') ||
    (prefix && key !== '' && !key.endsWith('/'))
  ) {
    throw new Error(`not a safe blob key: ${JSON.stringify(key.slice(0, 100))}`)
  }
}
