import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { EngineError } from '../../core/errors/index.js'

/**
 * A backup key as text: 64 hex characters or the base64 of 32 bytes (a key file may also hold
 * the 32 raw bytes). `where` names the source for the message; the key itself is never shown.
 *
 * @example
 *   parseBackupKey(process.env.ER_BACKUP_KEY, 'ER_BACKUP_KEY')   // openssl rand -base64 32
 */
export function parseBackupKey(text: string, where: string): Buffer {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex')
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64')
    if (bytes.length === 32) return bytes
  }
  throw new EngineError(
    'ER_BACKUP_KEY_INVALID',
    `${where}: a backup key is 32 bytes written as 64 hex characters or 44 base64 characters. Make one with: openssl rand -base64 32`,
  )
}

/** Reads a key file: 32 raw bytes, or the key as text (see {@link parseBackupKey}). */
export async function readBackupKeyFile(path: string): Promise<Buffer> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new EngineError(
      'ER_BACKUP_KEY_INVALID',
      `Cannot read the key file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    )
  }
  if (bytes.length === 32) return bytes
  return parseBackupKey(bytes.toString('latin1'), `key file ${path}`)
}

/** A fresh random key as base64, for `engineroom backup key`. */
export function newBackupKey(): string {
  return randomBytes(32).toString('base64')
}
