/**
 * sharp, loaded on first use: a server that never sees an image never maps libvips.
 */
import type { Sharp, SharpOptions } from 'sharp'

type SharpFactory = ((input?: Buffer | Uint8Array, options?: SharpOptions) => Sharp) &
  ((options: SharpOptions) => Sharp)

let loaded: Promise<SharpFactory> | undefined

export function loadSharp(): Promise<SharpFactory> {
  loaded ??= import('sharp').then((module) => {
    const sharp = module.default
    // Our own caching and concurrency limits apply; libvips' operation cache would only hold RAM.
    sharp.cache(false)
    return sharp as unknown as SharpFactory
  })
  return loaded
}

/** Types sharp decodes (and so can make thumbnails of). */
export const DECODABLE_IMAGES = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'image/heic',
  'image/heif',
])

/**
 * The pixels an image's header declares (all pages of an animation), read from its first bytes
 * only; undefined when the header cannot be read from them.
 */
export async function imagePixels(sample: Uint8Array): Promise<number | undefined> {
  const sharp = await loadSharp()
  try {
    // No pixel limit here: metadata reads the header only, and the number is what we judge.
    const meta = await sharp(sample, { limitInputPixels: false, failOn: 'none' }).metadata()
    if (!meta.width || !meta.height) return undefined
    return meta.width * meta.height * (meta.pages ?? 1)
  } catch {
    return undefined
  }
}
