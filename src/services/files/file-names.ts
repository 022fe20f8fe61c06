import { randomBytes } from 'node:crypto'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

/**
 * The name a new file is stored under: the client's name made safe (lower-case ASCII letters,
 * digits, `_` and `-`, at most 60 characters), a random 10-character suffix so that names are
 * unique and not guessable, and the extension of the sniffed type. Matches FILE_NAME_PATTERN.
 *
 * @example
 *   storedFileName('Mon CV (final).PDF', 'pdf') // 'mon_cv_final_k3x9q0a1zt.pdf'
 */
export function storedFileName(original: string, ext: string): string {
  const base =
    original
      .replace(/\.[^.]*$/, '')
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '_')
      .replace(/^[_-]+|_+$/g, '')
      .slice(0, 60)
      .replace(/[_-]+$/, '') || 'file'
  const bytes = randomBytes(10)
  let suffix = ''
  for (const byte of bytes) suffix += ALPHABET[byte % ALPHABET.length]
  return `${base}_${suffix}.${ext.toLowerCase()}`
}

/** The blob key of a record's file: `<collection id>/<record id>/<name>`. */
export function fileBlobKey(collectionId: string, recordId: string, name: string): string {
  return `${collectionId}/${recordId}/${name}`
}

/** The folder under which a file's thumbnails are kept: `<collection id>/<record id>/thumbs_<name>/`. */
export function thumbPrefix(collectionId: string, recordId: string, name: string): string {
  return `${collectionId}/${recordId}/thumbs_${name}/`
}
