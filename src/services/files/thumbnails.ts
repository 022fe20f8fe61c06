import { Readable } from 'node:stream'
import type { ThumbSpec } from '../../core/schema/file-field.js'
import type { BlobStore } from '../../adapters/blobs/blobs.js'
import { loadSharp } from './images.js'

export type ThumbFormat = 'jpeg' | 'png' | 'webp' | 'avif'
export const THUMB_FORMATS: readonly ThumbFormat[] = ['jpeg', 'png', 'webp', 'avif']

/** The format a thumbnail gets when `format` is not asked for: the source's, when it can be written. */
export function defaultThumbFormat(mime: string): ThumbFormat {
  const own = mime.replace(/^image\//, '')
  return (THUMB_FORMATS as readonly string[]).includes(own) ? (own as ThumbFormat) : 'png'
}

/**
 * Makes thumbnails with sharp and keeps them in the blob store, each made once: concurrent
 * requests for the same one in this process share one generation, and at most `concurrency` are
 * made at a time (decoding is CPU and memory). Images declaring more than `maxPixels` are not
 * decoded (sharp's `limitInputPixels`).
 */
export function createThumbnailer(deps: {
  blobs: BlobStore
  maxPixels: number
  concurrency?: number
}) {
  const inFlight = new Map<string, Promise<Buffer>>()
  const waiting: (() => void)[] = []
  let running = 0
  const limit = deps.concurrency ?? 2

  async function slot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((go) => waiting.push(go))
    running++
    try {
      return await work()
    } finally {
      running--
      waiting.shift()?.()
    }
  }

  /** The thumbnail at `thumbKey`, made from `sourceKey` now if it is not stored yet. */
  function generate(
    sourceKey: string,
    thumbKey: string,
    spec: ThumbSpec,
    format: ThumbFormat,
  ): Promise<Buffer> {
    let pending = inFlight.get(thumbKey)
    if (!pending) {
      pending = slot(() => make(sourceKey, thumbKey, spec, format)).finally(() =>
        inFlight.delete(thumbKey),
      )
      inFlight.set(thumbKey, pending)
    }
    return pending
  }

  async function make(
    sourceKey: string,
    thumbKey: string,
    spec: ThumbSpec,
    format: ThumbFormat,
  ): Promise<Buffer> {
    const source = await deps.blobs.get(sourceKey)
    if (!source) throw new Error(`blob ${sourceKey} is missing`)
    const sharp = await loadSharp()
    const resize =
      spec.width === 0 || spec.height === 0
        ? { width: spec.width || undefined, height: spec.height || undefined }
        : spec.mode === 'fit'
          ? { width: spec.width, height: spec.height, fit: 'inside' as const }
          : {
              width: spec.width,
              height: spec.height,
              fit: 'cover' as const,
              position: ({ center: 'centre', top: 'top', bottom: 'bottom' } as const)[spec.mode],
            }
    const transformer = sharp({ limitInputPixels: deps.maxPixels, failOn: 'error' })
      .rotate()
      .resize({ ...resize, withoutEnlargement: true })
      .toFormat(format, { quality: 80 })
    source.once('error', (error) => transformer.destroy(error))
    const output = await source.pipe(transformer).toBuffer()
    await deps.blobs.put(thumbKey, Readable.from([output]), { contentType: `image/${format}` })
    return output
  }

  return { generate }
}

export type Thumbnailer = ReturnType<typeof createThumbnailer>
