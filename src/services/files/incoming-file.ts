import { createHash } from 'node:crypto'
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import { EngineError } from '../../core/errors/index.js'
import { DEFAULT_FILE_MAX_SIZE, isAllowedMime } from '../../core/schema/file-field.js'
import type { FileField } from '../../core/schema/types.js'
import { fileBlobKey, storedFileName } from './file-names.js'
import { imagePixels } from './images.js'
import { SNIFF_SAMPLE_BYTES, sniffType, type SniffedType } from './sniff-type.js'

/** A file stored (or about to be) as a blob for a record, not yet in the record's manifest. */
export interface NewFile {
  field: FileField
  name: string
  key: string
  mime: string
  size: number
  sha256: string
}

/** What is left of one request's allowance; shared by all its files. */
export interface UploadBudget {
  bytes: number
  files: number
}

/**
 * Checks a file's first bytes against its field before anything is stored: the sniffed type
 * must be allowed, and an image may not declare more pixels than `maxPixels` (a decompression
 * bomb is a few KB on the wire and gigabytes once decoded).
 */
export async function checkSample(
  field: FileField,
  sample: Uint8Array,
  originalName: string,
  maxPixels: number,
): Promise<SniffedType> {
  const type = await sniffType(sample, originalName)
  if (!isAllowedMime(field, type.mime)) {
    const allowed = (field.mimeTypes ?? []).join(', ')
    throw new EngineError(
      'ER_FILE_TYPE_NOT_ALLOWED',
      `${field.name}: the content is ${type.mime}, which this field does not accept (${allowed}).`,
      { errors: { [field.name]: [{ code: 'mimeTypes', message: `${type.mime} is not allowed` }] } },
    )
  }
  const pixels = type.mime.startsWith('image/') ? await imagePixels(sample) : undefined
  if (pixels !== undefined && pixels > maxPixels) {
    throw new EngineError(
      'ER_FILE_IMAGE_TOO_LARGE',
      `${field.name}: the image has ${pixels} pixels; at most ${maxPixels} are accepted.`,
      {
        errors: {
          [field.name]: [{ code: 'pixels', message: `has more than ${maxPixels} pixels` }],
        },
      },
    )
  }
  return type
}

/**
 * Streams one uploaded file into the blob store as a file of `field`: sniffs and checks its first
 * 64 KiB, then stores it under a new name while counting and hashing it. Over the field's
 * `maxSize` or the request's remaining budget, the upload stops and nothing is kept.
 */
export async function storeIncomingFile(options: {
  put(key: string, body: Readable, contentType: string): Promise<void>
  collectionId: string
  recordId: string
  field: FileField
  originalName: string
  source: Readable
  budget: UploadBudget
  maxPixels: number
}): Promise<NewFile> {
  const { field, source, budget } = options
  if (budget.files <= 0) {
    source.resume()
    throw new EngineError('ER_FILE_TOO_MANY', 'This request carries more files than accepted.')
  }
  budget.files--
  const fieldMax = field.maxSize ?? DEFAULT_FILE_MAX_SIZE
  const max = Math.min(fieldMax, budget.bytes)
  const tooLarge = () =>
    max === fieldMax
      ? new EngineError(
          'ER_FILE_TOO_LARGE',
          `${field.name}: files may be at most ${fieldMax} bytes.`,
          { errors: { [field.name]: [{ code: 'maxSize', message: `exceeds ${fieldMax} bytes` }] } },
        )
      : new EngineError(
          'ER_FILE_TOO_LARGE',
          'The files of this request add up to more than the server accepts in one request; upload large files with tus (/api/files/uploads/).',
        )
  const { sample, rest } = await readSample(source, SNIFF_SAMPLE_BYTES)
  if (sample.length > max) {
    rest.resume()
    throw tooLarge()
  }
  const type = await checkSample(field, sample, options.originalName, options.maxPixels).catch(
    (error: unknown) => {
      rest.resume()
      throw error
    },
  )
  const name = storedFileName(options.originalName, type.ext)
  const key = fileBlobKey(options.collectionId, options.recordId, name)
  const meter = new Meter(max, tooLarge)
  // pipeline passes a failing source on to the meter, so the blob store sees the error.
  const body = pipeline(Readable.from(replay(sample, rest)), meter, () => {})
  await options.put(key, body, type.mime)
  budget.bytes -= meter.size
  return { field, name, key, mime: type.mime, size: meter.size, sha256: meter.digest() }
}

async function* replay(sample: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (sample.length > 0) yield sample
  for await (const chunk of rest) yield chunk
}

/** Reads up to `bytes` from the start of a stream; `rest` yields what follows. */
async function readSample(
  source: Readable,
  bytes: number,
): Promise<{ sample: Buffer; rest: Readable }> {
  const chunks: Buffer[] = []
  let length = 0
  const iterator = source[Symbol.asyncIterator]()
  let leftover: Buffer | undefined
  while (length < bytes) {
    const next = (await iterator.next()) as IteratorResult<Buffer>
    if (next.done) break
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value)
    if (length + chunk.length > bytes) {
      chunks.push(chunk.subarray(0, bytes - length))
      leftover = chunk.subarray(bytes - length)
      length = bytes
    } else {
      chunks.push(chunk)
      length += chunk.length
    }
  }
  const rest = Readable.from(
    (async function* () {
      if (leftover) yield leftover
      for (;;) {
        const next = (await iterator.next()) as IteratorResult<Buffer>
        if (next.done) return
        yield next.value
      }
    })(),
    { objectMode: false },
  )
  return { sample: Buffer.concat(chunks, length), rest }
}

/** Counts and hashes the bytes passing through; fails once they exceed `max`. */
class Meter extends Transform {
  size = 0
  readonly #hash = createHash('sha256')
  readonly #max: number
  readonly #tooLarge: () => Error

  constructor(max: number, tooLarge: () => Error) {
    super()
    this.#max = max
    this.#tooLarge = tooLarge
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length
    if (this.size > this.#max) return done(this.#tooLarge())
    this.#hash.update(chunk)
    done(null, chunk)
  }

  digest(): string {
    return this.#hash.digest('hex')
  }
}
