import type { Readable } from 'node:stream'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef, FileField } from '../../core/schema/types.js'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import type { FileRow, Store } from '../../adapters/store/store.js'
import { requireScope } from '../access.js'
import type { RequestContext } from '../context.js'
import { accessDenied, recordNotFound, resolveRule } from '../records/record-rules.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { createFileDownloads } from './file-downloads.js'
import { createFileHousekeeping } from './file-housekeeping.js'
import { createFileTokens } from './file-tokens.js'
import type { FileWrites, NewFile, PlannedFile, UploadedFile } from './file-writes.js'
import { fileBlobKey } from './file-names.js'
import { formBody } from './form-values.js'
import { storeIncomingFile, type UploadBudget } from './incoming-file.js'
import { createTusUploads } from './tus-uploads.js'

/** `ER_FILES_*` limits. */
export interface FileLimits {
  /** Bytes of files one multipart request may carry in all. */
  maxRequestBytes: number
  /** File parts one multipart request may carry. */
  maxFilesPerRequest: number
  /** Pixels an image may declare (uploads and thumbnails). */
  maxPixels: number
  /** Lifetime of file tokens in seconds. */
  tokenTtlSeconds: number
}

export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxRequestBytes: 100 * 1024 * 1024,
  maxFilesPerRequest: 20,
  maxPixels: 40_000_000,
  tokenTtlSeconds: 120,
}

/** One part of a multipart request, as any transport hands it over. */
export type IncomingPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string; stream: Readable }

export interface FilesDeps {
  store: Store
  registry: SchemaRegistry
  clock: Clock
  blobs: BlobStore
  /** Derives the file-token key. */
  secret: string
  /** Where tus uploads are staged (`<dir>/uploads`). */
  uploadsDir: string
  limits: FileLimits
  /** How often removed files' blobs are retried and orphans swept (ms); 0: only on demand. */
  housekeepingMs?: number
  onError(error: unknown): void
}

export type FilesService = ReturnType<typeof createFilesService>

/**
 * Files of records: receiving multipart uploads, tus uploads, downloads with thumbnails, file
 * tokens, and deleting blobs after their records let go of them. The records service writes file
 * fields through the {@link FileWrites} part of it.
 */
export function createFilesService(deps: FilesDeps) {
  const { store, registry, blobs, limits } = deps
  const tus = createTusUploads({
    directory: deps.uploadsDir,
    registry,
    maxPixels: limits.maxPixels,
    expireMs: 24 * 3600_000,
  })
  const tokens = createFileTokens({
    store,
    registry,
    clock: deps.clock,
    secret: deps.secret,
    ttlSeconds: limits.tokenTtlSeconds,
  })
  const housekeeping = createFileHousekeeping({
    store,
    registry,
    blobs,
    tus,
    clock: deps.clock,
    intervalMs: deps.housekeepingMs ?? 60_000,
    onError: deps.onError,
  })
  const downloads = createFileDownloads({
    store,
    registry,
    blobs,
    tokens,
    clock: deps.clock,
    maxPixels: limits.maxPixels,
  })

  const writes: FileWrites = {
    planUpload: (ctx, collection, field, uploadId) => tus.plan(ctx, collection, field, uploadId),
    async storePlanned(files, collection, recordId) {
      for (const file of files) {
        const path = await tus.describe(file, collection.id, recordId)
        await blobs.putFile(file.key, path, { contentType: file.mime })
      }
    },
    async discard(files) {
      for (const file of files) {
        if (file.key === '') continue
        await blobs.delete(file.key).catch(deps.onError)
      }
    },
    afterCommit(files) {
      for (const file of files) {
        if ('uploadId' in file) void tus.forget((file as PlannedFile).uploadId)
      }
      housekeeping.wake()
    },
  }

  /**
   * Reads a multipart record write: text parts become the body (see formBody), file parts are
   * streamed to storage one after the other as files of the record. Refuses, before reading a
   * byte of any file, a caller who may not write to the collection (or the record), so nobody
   * can fill the disk with uploads that would be refused anyway.
   */
  async function receive(
    ctx: RequestContext,
    name: string,
    target: { action: 'create' } | { action: 'update'; id: string },
    parts: AsyncIterable<IncomingPart>,
  ): Promise<{ body: Record<string, unknown>; uploads: UploadedFile[] }> {
    const collection = await checkWritable(ctx, name, target)
    const texts: [string, string][] = []
    const uploads: UploadedFile[] = []
    const budget: UploadBudget = { bytes: limits.maxRequestBytes, files: limits.maxFilesPerRequest }
    let recordId = target.action === 'update' ? target.id : undefined
    try {
      for await (const part of parts) {
        if (part.kind === 'field') {
          const id = part.name === 'id' ? part.value : payloadId(part)
          if (id !== undefined && target.action === 'create') {
            checkIdNotLate(part, uploads)
            recordId ??= id
          }
          texts.push([part.name, part.value])
          continue
        }
        const field = fileFieldOf(collection, part.name)
        if (!field) {
          part.stream.resume()
          throw new EngineError(
            'ER_FILE_UPLOAD_INVALID',
            `${part.name}: is not a file field of "${collection.name}".`,
            { errors: { [part.name]: [{ code: 'unknown', message: 'is not a file field' }] } },
          )
        }
        recordId ??= newId()
        const file = await storeIncomingFile({
          put: (key, body, contentType) => blobs.put(key, body, { contentType }),
          collectionId: collection.id,
          recordId: checkedRecordId(recordId),
          field,
          originalName: part.filename,
          source: part.stream,
          budget,
          maxPixels: limits.maxPixels,
        })
        uploads.push({ key: part.name, file })
      }
    } catch (error) {
      await writes.discard(uploads.map((u) => u.file))
      throw error
    }
    const body = formBody(collection, texts)
    if (target.action === 'create' && recordId !== undefined) body.id = recordId
    return { body, uploads }
  }

  async function checkWritable(
    ctx: RequestContext,
    name: string,
    target: { action: 'create' } | { action: 'update'; id: string },
  ): Promise<CollectionDef> {
    requireScope(ctx, name, target.action)
    const collection = await registry.getFresh(name)
    const rule = resolveRule(ctx, registry, collection, target.action)
    if (rule.kind === 'denied') {
      const view = resolveRule(ctx, registry, collection, 'view')
      if (target.action === 'create' || view.kind === 'denied') throw accessDenied(ctx, collection)
    }
    if (target.action === 'update') {
      const [row] = await store.selectByIds(collection, [target.id])
      if (!row) throw recordNotFound(collection, target.id)
    }
    return collection
  }

  /** `POST /api/files/token`: a short-lived token for protected files, for a signed-in caller. */
  function issueToken(ctx: RequestContext): { token: string; expires: string } {
    if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to get a file token.')
    return tokens.issue(ctx.auth)
  }

  /** The live files of a record (for backups and privacy export), oldest first. */
  function recordFiles(collectionId: string, recordId: string): Promise<FileRow[]> {
    return store.files.listRecordFiles(collectionId, recordId)
  }

  /** A file's bytes, streamed; undefined when its blob is missing. */
  function openFile(file: Pick<FileRow, 'collectionId' | 'recordId' | 'name'>) {
    return blobs.get(fileBlobKey(file.collectionId, file.recordId, file.name))
  }

  return {
    writes,
    receive,
    download: downloads.download,
    issueToken,
    tus,
    recordFiles,
    openFile,
    /** Deletes the blobs of removed files now (also runs after commits and on a timer). */
    drainDeletions: housekeeping.drain,
    /** Deletes blobs no record refers to (older than `graceMs`), and expired tus uploads. */
    sweepOrphans: housekeeping.sweep,
    start: housekeeping.start,
    stop: housekeeping.stop,
    limits,
  }
}

function fileFieldOf(collection: CollectionDef, partName: string): FileField | undefined {
  const name = /^\+?([A-Za-z_][A-Za-z0-9_]*)\+?$/.exec(partName)?.[1]
  const field = collection.fields.find((f) => f.name === name)
  return field?.type === 'file' ? field : undefined
}

function checkedRecordId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new EngineError('ER_VALIDATION_FAILED', 'id: must be 1-64 letters, digits, _ or -', {
      errors: { id: [{ code: 'pattern', message: 'must be 1-64 letters, digits, _ or -' }] },
    })
  }
  return id
}

/** The `id` a `@jsonPayload` part carries, if any. */
function payloadId(part: { name: string; value: string }): string | undefined {
  if (part.name !== '@jsonPayload') return undefined
  try {
    const id = (JSON.parse(part.value) as { id?: unknown } | null)?.id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** A record's id decides where its files are stored, so it must come before them. */
function checkIdNotLate(part: { name: string }, uploads: readonly UploadedFile[]): void {
  if (uploads.length === 0) return
  throw new EngineError(
    'ER_FILE_UPLOAD_INVALID',
    `${part.name}: send it before the files, whose storage depends on the record id.`,
    { errors: { [part.name]: [{ code: 'order', message: 'must come before the file parts' }] } },
  )
}

export type { NewFile }
