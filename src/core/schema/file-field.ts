/**
 * What a `file` field allows, in pure terms: its options, the names stored files get, and the
 * thumbnail sizes `?thumb=` may ask for. The I/O (sniffing, storing, resizing) is in
 * services/files.
 */
import type { FileField } from './types.js'

/** A file field's `maxSize` when it sets none: 5 MiB, as PocketBase users expect. */
export const DEFAULT_FILE_MAX_SIZE = 5 * 1024 * 1024
/** The largest `maxSize` a field may declare (1 TiB); uploads that large go through tus. */
export const MAX_FILE_MAX_SIZE = 2 ** 40
export const MAX_FILES_PER_FIELD = 100
export const MAX_MIME_TYPES = 100
export const MAX_THUMBS = 20
/** Thumbnails are at most this wide and high. */
export const MAX_THUMB_SIDE = 4096

/**
 * A stored file's name: `<base>_<10 random characters>.<ext>`, lower-case letters, digits, `_`,
 * `-` and one `.`; at most 100 characters. Names never contain `/`, `..` or `:`, so they are safe
 * as a path segment and cannot be mistaken for a `tus:<id>` upload reference.
 */
export const FILE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,80}_[a-z0-9]{10}\.[a-z0-9]{1,10}$/

const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/

/** How a thumbnail fills its box; see {@link parseThumbSpec}. */
export type ThumbMode = 'center' | 'top' | 'bottom' | 'fit'

export interface ThumbSpec {
  /** As declared: `100x100`, `100x100t`, `0x300`, … */
  text: string
  width: number
  height: number
  mode: ThumbMode
}

const THUMB_PATTERN = /^(\d{1,4})x(\d{1,4})([tbf]?)$/

/**
 * `WxH` crops to exactly that size from the centre, `WxHt` / `WxHb` from the top / bottom,
 * `WxHf` fits inside the box keeping the ratio; a 0 side (`0x300`, `300x0`) follows the ratio.
 *
 * @example
 *   parseThumbSpec('100x50t') // { text: '100x50t', width: 100, height: 50, mode: 'top' }
 */
export function parseThumbSpec(text: string): ThumbSpec | undefined {
  const match = THUMB_PATTERN.exec(text)
  if (!match) return undefined
  const width = Number(match[1])
  const height = Number(match[2])
  if ((width === 0 && height === 0) || width > MAX_THUMB_SIDE || height > MAX_THUMB_SIDE)
    return undefined
  const mode = ({ '': 'center', t: 'top', b: 'bottom', f: 'fit' } as const)[
    match[3] as '' | 't' | 'b' | 'f'
  ]
  return { text, width, height, mode }
}

/** Whether a sniffed type is allowed by the field (`image/*` covers every image type). */
export function isAllowedMime(field: FileField, mime: string): boolean {
  const allowed = field.mimeTypes ?? []
  if (allowed.length === 0) return true
  return allowed.some((entry) =>
    entry.endsWith('/*') ? mime.startsWith(entry.slice(0, -1)) : entry === mime,
  )
}

type AddIssue = (key: string, code: string, message: string) => void

/** Checks a file field's own options (maxSelect, maxSize, mimeTypes, thumbs). */
export function checkFileOptions(raw: Record<string, unknown>, add: AddIssue): void {
  const { maxSelect, maxSize, mimeTypes, thumbs } = raw
  if (
    maxSelect !== undefined &&
    (!Number.isSafeInteger(maxSelect) ||
      (maxSelect as number) < 1 ||
      (maxSelect as number) > MAX_FILES_PER_FIELD)
  ) {
    add('maxSelect', 'range', `must be a whole number from 1 to ${MAX_FILES_PER_FIELD}`)
  }
  if (
    maxSize !== undefined &&
    (!Number.isSafeInteger(maxSize) ||
      (maxSize as number) < 1 ||
      (maxSize as number) > MAX_FILE_MAX_SIZE)
  ) {
    add('maxSize', 'range', `must be a whole number of bytes from 1 to ${MAX_FILE_MAX_SIZE}`)
  }
  if (mimeTypes !== undefined) {
    if (
      !Array.isArray(mimeTypes) ||
      mimeTypes.length > MAX_MIME_TYPES ||
      mimeTypes.some((m) => typeof m !== 'string' || !MIME_PATTERN.test(m))
    ) {
      add(
        'mimeTypes',
        'type',
        `must be at most ${MAX_MIME_TYPES} lower-case media types such as image/png or image/*`,
      )
    }
  }
  if (thumbs !== undefined) {
    if (
      !Array.isArray(thumbs) ||
      thumbs.length > MAX_THUMBS ||
      thumbs.some((t) => typeof t !== 'string' || parseThumbSpec(t) === undefined)
    ) {
      add(
        'thumbs',
        'type',
        `must be at most ${MAX_THUMBS} sizes such as 100x100, 100x100t, 100x100b, 100x100f or 0x300 (sides up to ${MAX_THUMB_SIDE})`,
      )
    } else if (new Set(thumbs).size !== thumbs.length) {
      add('thumbs', 'unique', 'must not repeat a size')
    }
  }
}
