import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileStore } from '@tus/file-store'
import { EngineError } from '../../core/errors/index.js'
import { DEFAULT_FILE_MAX_SIZE } from '../../core/schema/file-field.js'
import type { CollectionDef, FileField } from '../../core/schema/types.js'
import { requireScope } from '../access.js'
import type { RequestContext } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { PlannedFile } from './file-writes.js'
import { fileBlobKey, storedFileName } from './file-names.js'
import { checkSample } from './incoming-file.js'
import { SNIFF_SAMPLE_BYTES } from './sniff-type.js'

/** Metadata keys the server adds to an upload (clients cannot set them: they are overwritten). */
const OWNER = 'er_owner'
const COLLECTION = 'er_collection'
const FIELD = 'er_field'

/**
 * Resumable uploads (tus) for files too large for one request. An upload is staged on local disk
 * under `<dir>/uploads` (@tus/file-store), owned by the signed-in caller who created it for one
 * collection and file field (`Upload-Metadata: collection, field, filename`), bounded by the
 * field's `maxSize`. Once finished, a record write attaches it with `"avatar": "tus:<id>"`: it
 * is then checked like any upload and copied into file storage. Unfinished or unattached uploads
 * are deleted after `expireMs` (24 h).
 */
export function createTusUploads(deps: {
  directory: string
  registry: SchemaRegistry
  maxPixels: number
  expireMs: number
}) {
  // Loaded with the first resumable upload: @tus/file-store is megabytes most servers never use.
  let store: Promise<FileStore> | undefined
  const datastore = () =>
    (store ??= import('@tus/file-store').then(
      ({ FileStore }) => new FileStore({ directory: deps.directory }),
    ))
  const ownerOf = (ctx: RequestContext) =>
    ctx.auth ? `${ctx.auth.collection.id}/${String(ctx.auth.record.id)}` : undefined

  /** The target a new upload names, and the metadata stored with it; refuses what it may not be. */
  async function authorizeCreate(
    ctx: RequestContext,
    metadata: Record<string, string | null | undefined>,
    size: number | undefined,
  ): Promise<Record<string, string>> {
    const owner = ownerOf(ctx)
    if (!owner) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to upload files.')
    await deps.registry.refreshIfStale()
    const name = metadata.collection ?? ''
    const collection = deps.registry.find(name)
    if (!collection) throw missingTarget('collection', 'names no collection')
    // Whoever may create or update its records may upload for them (the write checks the rule).
    const scoped = ['create', 'update'].some((op) => {
      try {
        requireScope(ctx, collection.name, op as 'create' | 'update')
        return true
      } catch {
        return false
      }
    })
    if (!scoped) requireScope(ctx, collection.name, 'create')
    const field = fileFieldOf(collection, metadata.field ?? '')
    if (!field) throw missingTarget('field', `names no file field of "${collection.name}"`)
    const max = field.maxSize ?? DEFAULT_FILE_MAX_SIZE
    if (size === undefined || size > max) {
      throw new EngineError(
        'ER_FILE_TOO_LARGE',
        `${field.name}: files may be at most ${max} bytes (send Upload-Length).`,
        { errors: { [field.name]: [{ code: 'maxSize', message: `exceeds ${max} bytes` }] } },
      )
    }
    const filename = (metadata.filename ?? 'file').slice(0, 255)
    return { filename, [OWNER]: owner, [COLLECTION]: collection.id, [FIELD]: field.id }
  }

  /** Only the caller who created an upload may continue, read or cancel it. */
  async function authorizeAccess(ctx: RequestContext, uploadId: string): Promise<void> {
    if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to continue this upload.')
    const upload = await find(uploadId)
    if (!upload || upload.metadata?.[OWNER] !== ownerOf(ctx)) {
      throw new EngineError('ER_FILE_UPLOAD_INVALID', `No upload "${uploadId}" of yours.`)
    }
  }

  async function find(uploadId: string) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(uploadId)) return undefined
    try {
      return await (await datastore()).getUpload(uploadId)
    } catch {
      return undefined
    }
  }

  /** A finished upload of the caller for this field, checked and named; see FileWrites. */
  async function plan(
    ctx: RequestContext,
    collection: CollectionDef,
    field: FileField,
    uploadId: string,
  ): Promise<PlannedFile> {
    const upload = await find(uploadId)
    const meta = upload?.metadata ?? {}
    if (
      !upload ||
      meta[OWNER] !== ownerOf(ctx) ||
      meta[COLLECTION] !== collection.id ||
      meta[FIELD] !== field.id ||
      upload.size === undefined ||
      upload.offset !== upload.size
    ) {
      throw new EngineError(
        'ER_FILE_UPLOAD_INVALID',
        `${field.name}: "tus:${uploadId}" is not a finished upload of yours for this field.`,
        { errors: { [field.name]: [{ code: 'upload', message: 'unknown or unfinished upload' }] } },
      )
    }
    const path = join(deps.directory, uploadId)
    const sample = await readStart(path, SNIFF_SAMPLE_BYTES)
    const originalName = meta.filename ?? 'file'
    const type = await checkSample(field, sample, originalName, deps.maxPixels)
    const name = storedFileName(originalName, type.ext)
    return {
      field,
      name,
      key: '',
      mime: type.mime,
      size: upload.size,
      sha256: '',
      uploadId,
    }
  }

  /** Fills in the blob key and content hash of a planned upload (read once, streaming). */
  async function describe(file: PlannedFile, collectionId: string, recordId: string) {
    file.key = fileBlobKey(collectionId, recordId, file.name)
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(join(deps.directory, file.uploadId)))
      hash.update(chunk)
    file.sha256 = hash.digest('hex')
    return join(deps.directory, file.uploadId)
  }

  async function forget(uploadId: string): Promise<void> {
    await (await datastore()).remove(uploadId).catch(() => {})
  }

  /** Deletes uploads (finished or not) older than the expiry; returns how many. */
  async function expire(now: number): Promise<number> {
    let count = 0
    const entries = await readdir(deps.directory).catch(() => [] as string[])
    for (const entry of entries) {
      if (entry.endsWith('.json')) continue
      const info = await stat(join(deps.directory, entry)).catch(() => undefined)
      if (info && now - info.mtimeMs > deps.expireMs) {
        await rm(join(deps.directory, entry), { force: true })
        await rm(join(deps.directory, `${entry}.json`), { force: true })
        count++
      }
    }
    return count
  }

  return { datastore, authorizeCreate, authorizeAccess, plan, describe, forget, expire }
}

export type TusUploads = ReturnType<typeof createTusUploads>

function fileFieldOf(collection: CollectionDef, name: string): FileField | undefined {
  const field = collection.fields.find((f) => f.name === name)
  return field?.type === 'file' ? field : undefined
}

function missingTarget(key: string, message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', `Upload-Metadata ${key}: ${message}.`, {
    errors: { [key]: [{ code: 'invalid', message }] },
  })
}

async function readStart(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(bytes)
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}
