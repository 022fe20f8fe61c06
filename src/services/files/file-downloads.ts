import { Readable } from 'node:stream'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { parseThumbSpec } from '../../core/schema/file-field.js'
import type { CollectionDef, FileField } from '../../core/schema/types.js'
import type { BlobRange, BlobStore } from '../../adapters/blobs/blobs.js'
import type { FileRow, Store } from '../../adapters/store/store.js'
import { requireScope } from '../access.js'
import type { RequestContext } from '../context.js'
import { resolveRule, ruleConditions, ruleValues } from '../records/record-rules.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { FileTokens } from './file-tokens.js'
import { fileBlobKey, thumbPrefix } from './file-names.js'
import { DECODABLE_IMAGES } from './images.js'
import {
  createThumbnailer,
  defaultThumbFormat,
  THUMB_FORMATS,
  type ThumbFormat,
} from './thumbnails.js'
import { createThumbnailMemory, MAX_REMEMBERED_THUMB_BYTES } from './thumbnail-memory.js'

export interface DownloadRequest {
  collection: string
  recordId: string
  name: string
  /** `?thumb=WxH…`: one of the field's declared sizes. */
  thumb?: string | undefined
  /** `?format=`: jpeg, png, webp or avif (thumbnails only). */
  format?: string | undefined
  /** `?token=`: a file token, for protected files. */
  token?: string | undefined
}

/** What a download serves; the transport turns it into a response (ranges, caching). */
export interface Download {
  /** The sniffed type (of the thumbnail, for one). */
  mime: string
  size: number
  /** A strong validator, quoted: the content hash (and the thumbnail variant). */
  etag: string
  /** The stored name, for Content-Disposition. */
  filename: string
  /** Served only with credentials: caches must not share it. */
  private: boolean
  /** The bytes, or the inclusive `range` of them. */
  open(range?: BlobRange): Promise<Readable>
  /** The whole file when it is already in memory (a thumbnail): sent as it is, with no stream. */
  bytes?: Buffer
}

/**
 * `GET /api/files/{collection}/{record}/{name}`. A file is found through the manifest, so a file
 * removed from its record is gone at once (its blob follows after commit). Files of an ordinary
 * field are served to anyone with the URL, whose random name is the capability (as PocketBase
 * does; URLs stay cacheable and embeddable). Files of a `protected` field need a file token (or
 * the bearer token) whose holder the record's view rule admits; files of a `hidden` field are
 * for superusers only. Every refusal after the token check is a 404, so nothing is revealed.
 * Thumbnails served once are kept in memory ({@link createThumbnailMemory}), but only looked up
 * after the manifest and the access check, which run on every request.
 */
export function createFileDownloads(deps: {
  store: Store
  registry: SchemaRegistry
  blobs: BlobStore
  tokens: FileTokens
  clock: Clock
  maxPixels: number
  /** Bytes of thumbnails kept in memory (see {@link createThumbnailMemory}). */
  thumbMemoryBytes?: number
}) {
  const { store, registry, blobs } = deps
  const thumbnailer = createThumbnailer({ blobs, maxPixels: deps.maxPixels })
  const memory = createThumbnailMemory({ maxBytes: deps.thumbMemoryBytes })

  async function download(ctx: RequestContext, request: DownloadRequest): Promise<Download> {
    await registry.refreshIfStale()
    const collection = registry.find(request.collection)
    const file = collection
      ? await store.files.getFile(collection.id, request.recordId, request.name)
      : undefined
    const field = file && collection?.fields.find((f) => f.id === file.fieldId)
    if (!collection || !file || field?.type !== 'file') throw notFound()
    const restricted = field.protected === true || field.hidden === true
    if (restricted) await checkAccess(ctx, request, collection, field)
    if (request.thumb === undefined) {
      if (request.format !== undefined) throw thumbInvalid('format applies to thumbnails only')
      return original(file, restricted)
    }
    return thumbnail(file, field, request, restricted)
  }

  async function checkAccess(
    ctx: RequestContext,
    request: DownloadRequest,
    collection: CollectionDef,
    field: FileField,
  ): Promise<void> {
    const caller: RequestContext =
      request.token !== undefined
        ? { ...ctx, auth: await deps.tokens.identify(request.token) }
        : ctx
    if (!caller.auth) {
      throw new EngineError(
        'ER_FILE_TOKEN_REQUIRED',
        'This file is protected: add ?token= from POST /api/files/token.',
      )
    }
    if (field.hidden === true && !caller.auth.isSuperuser) throw notFound()
    try {
      requireScope(caller, collection.name, 'view')
    } catch {
      throw notFound()
    }
    const access = resolveRule(caller, registry, collection, 'view')
    if (access.kind === 'denied') throw notFound()
    const values = ruleValues(caller, () => deps.clock.now().toISOString())
    const visible = await store.selectByIds(
      collection,
      [request.recordId],
      ruleConditions(access, values),
    )
    if (visible.length === 0) throw notFound()
  }

  function original(file: FileRow, restricted: boolean): Download {
    const key = fileBlobKey(file.collectionId, file.recordId, file.name)
    return {
      mime: file.mime,
      size: file.size,
      etag: `"${file.sha256.slice(0, 32)}"`,
      filename: file.name,
      private: restricted,
      open: async (range) => {
        const stream = await blobs.get(key, range)
        if (!stream) throw notFound()
        return stream
      },
    }
  }

  async function thumbnail(
    file: FileRow,
    field: FileField,
    request: DownloadRequest,
    restricted: boolean,
  ): Promise<Download> {
    const spec = parseThumbSpec(request.thumb ?? '')
    if (!spec || !(field.thumbs ?? []).includes(spec.text)) {
      throw thumbInvalid(
        `thumb: ${field.name} has the sizes ${(field.thumbs ?? []).join(', ') || '(none)'}`,
      )
    }
    if (
      request.format !== undefined &&
      !(THUMB_FORMATS as readonly string[]).includes(request.format)
    )
      throw thumbInvalid(`format: must be one of ${THUMB_FORMATS.join(', ')}`)
    // Only images get thumbnails; anything else is served as it is (as PocketBase does).
    if (!DECODABLE_IMAGES.has(file.mime)) return original(file, restricted)
    const format = (request.format as ThumbFormat | undefined) ?? defaultThumbFormat(file.mime)
    const sourceKey = fileBlobKey(file.collectionId, file.recordId, file.name)
    const key = `${thumbPrefix(file.collectionId, file.recordId, file.name)}${spec.text}.${format}`
    const mime = `image/${format}`
    const etag = `"${file.sha256.slice(0, 24)}-${spec.text}-${format}"`
    const filename = `${spec.text}_${file.name.replace(/\.[^.]+$/, '')}.${format}`
    // The source's hash is in the memory key: the bytes under a blob key are those of one content.
    const memoryKey = `${key}#${file.sha256}`
    const inMemory = (bytes: Buffer): Download => ({
      mime,
      size: bytes.length,
      etag,
      filename,
      private: restricted,
      bytes,
      open: async (range) =>
        Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
    })
    const remembered = memory.recall(memoryKey)
    if (remembered) return inMemory(remembered)
    const stored = await blobs.stat(key)
    if (stored && stored.size <= MAX_REMEMBERED_THUMB_BYTES) {
      const bytes = await readBlob(key)
      if (bytes) {
        memory.remember(memoryKey, bytes)
        return inMemory(bytes)
      }
    } else if (stored) {
      return {
        mime,
        size: stored.size,
        etag,
        filename,
        private: restricted,
        open: async (range) => {
          const stream = await blobs.get(key, range)
          if (!stream) throw notFound()
          return stream
        },
      }
    }
    let bytes: Buffer
    try {
      bytes = await thumbnailer.generate(sourceKey, key, spec, format)
    } catch {
      // An image sharp cannot decode (corrupt, or over the pixel limit) is served unchanged.
      return original(file, restricted)
    }
    memory.remember(memoryKey, bytes)
    return inMemory(bytes)
  }

  /** A small blob's bytes, or undefined when it is gone. */
  async function readBlob(key: string): Promise<Buffer | undefined> {
    const stream = await blobs.get(key)
    if (!stream) return undefined
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  return { download }
}

function notFound(): EngineError {
  return new EngineError('ER_FILE_NOT_FOUND', 'There is no such file.')
}

function thumbInvalid(message: string): EngineError {
  const [key, text] = message.includes(': ') ? message.split(': ', 2) : ['thumb', message]
  return new EngineError('ER_FILE_THUMB_INVALID', message, {
    errors: { [key as string]: [{ code: 'invalid', message: text as string }] },
  })
}
