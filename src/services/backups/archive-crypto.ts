/**
 * The encrypted archive format: AES-256-GCM over 64 KiB chunks, each authenticated on its own,
 * so a reader never emits a byte it has not authenticated and needs no more memory than a chunk.
 *
 *   header  "ERBACKUP" | version (1) | salt (32) | key check (16)
 *   frame   length (4, big-endian, ≤ 65536) | last (1: 0 or 1) | ciphertext | GCM tag (16)
 *
 * The per-archive key is HKDF-SHA256(backup key, salt), so the chunk counter can be the nonce
 * (nonces never repeat under one key). Each frame's additional data is the header, its `last`
 * flag and its counter: frames cannot be reordered, dropped, moved to another archive, or cut
 * off after a non-final frame (the "STREAM" construction of Hoang, Reyhanitabar, Rogaway and
 * Vizár, 2015). The key check (an HMAC of the header under a second derived key) tells a wrong
 * key from a damaged archive before any chunk is read.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { EngineError } from '../../core/errors/index.js'

const MAGIC = Buffer.from('ERBACKUP', 'latin1')
const VERSION = 1
const SALT_BYTES = 32
const CHECK_BYTES = 16
const HEADER_BYTES = MAGIC.length + 1 + SALT_BYTES + CHECK_BYTES
const CHUNK_BYTES = 64 * 1024
const FRAME_HEAD_BYTES = 5
const TAG_BYTES = 16

/** Whether the first bytes of a file are those of an encrypted archive. */
export function isEncryptedArchive(firstBytes: Buffer): boolean {
  return firstBytes.length >= MAGIC.length && firstBytes.subarray(0, MAGIC.length).equals(MAGIC)
}

function deriveKeys(key: Buffer, salt: Buffer): { cipher: Buffer; check: Buffer } {
  const material = Buffer.from(hkdfSync('sha256', key, salt, 'engineroom backup v1', 64))
  return { cipher: material.subarray(0, 32), check: material.subarray(32) }
}

function keyCheck(checkKey: Buffer, headerStart: Buffer): Buffer {
  return createHmac('sha256', checkKey).update(headerStart).digest().subarray(0, CHECK_BYTES)
}

function nonceOf(counter: bigint): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeBigUInt64BE(counter, 4)
  return nonce
}

function additionalData(header: Buffer, last: boolean, counter: bigint): Buffer {
  const tail = Buffer.alloc(9)
  tail[0] = last ? 1 : 0
  tail.writeBigUInt64BE(counter, 1)
  return Buffer.concat([header, tail])
}

function corrupt(reason: string): EngineError {
  return new EngineError(
    'ER_BACKUP_CORRUPT',
    `The archive is damaged: ${reason}. Nothing was restored; use another copy.`,
  )
}

/**
 * A transform that encrypts what flows through it with `key` (32 bytes).
 *
 * @example
 *   await pipeline(tarStream, createGzip(), createEncryptStream(key), createWriteStream(path))
 */
export function createEncryptStream(key: Buffer): Transform {
  const salt = randomBytes(SALT_BYTES)
  const keys = deriveKeys(key, salt)
  const headerStart = Buffer.concat([MAGIC, Buffer.from([VERSION]), salt])
  const header = Buffer.concat([headerStart, keyCheck(keys.check, headerStart)])
  let counter = 0n
  let pending: Buffer = Buffer.alloc(0)

  const frame = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', keys.cipher, nonceOf(counter))
    cipher.setAAD(additionalData(header, last, counter))
    counter += 1n
    const body = Buffer.concat([cipher.update(plain), cipher.final()])
    const head = Buffer.alloc(FRAME_HEAD_BYTES)
    head.writeUInt32BE(plain.length, 0)
    head[4] = last ? 1 : 0
    return Buffer.concat([head, body, cipher.getAuthTag()])
  }

  return new Transform({
    construct(callback) {
      this.push(header)
      callback()
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      // Keep at least one byte back: only `flush` knows which frame is the last.
      while (pending.length > CHUNK_BYTES) {
        this.push(frame(pending.subarray(0, CHUNK_BYTES), false))
        pending = pending.subarray(CHUNK_BYTES)
      }
      callback()
    },
    flush(callback) {
      this.push(frame(pending, true))
      callback()
    },
  })
}

/**
 * The reverse of {@link createEncryptStream}: emits each chunk only once its tag verified.
 * Fails with `ER_BACKUP_KEY_INVALID` for a wrong key and `ER_BACKUP_CORRUPT` for an altered,
 * reordered or truncated archive.
 */
export function createDecryptStream(key: Buffer): Transform {
  let header: Buffer | undefined
  let cipherKey: Buffer | undefined
  let counter = 0n
  let finished = false
  let pending: Buffer = Buffer.alloc(0)

  const readHeader = (): boolean => {
    if (pending.length < HEADER_BYTES) return false
    const candidate = pending.subarray(0, HEADER_BYTES)
    if (!isEncryptedArchive(candidate)) throw corrupt('it is not an encrypted Engine Room backup')
    if (candidate[MAGIC.length] !== VERSION) {
      throw corrupt(`unknown format version ${candidate[MAGIC.length]}`)
    }
    const headerStart = candidate.subarray(0, HEADER_BYTES - CHECK_BYTES)
    const keys = deriveKeys(
      key,
      candidate.subarray(MAGIC.length + 1, MAGIC.length + 1 + SALT_BYTES),
    )
    const expected = keyCheck(keys.check, headerStart)
    if (!timingSafeEqual(expected, candidate.subarray(HEADER_BYTES - CHECK_BYTES))) {
      throw new EngineError(
        'ER_BACKUP_KEY_INVALID',
        'This key does not open the archive (a wrong key, or a damaged archive header). Nothing was restored.',
      )
    }
    header = Buffer.from(candidate)
    cipherKey = keys.cipher
    pending = pending.subarray(HEADER_BYTES)
    return true
  }

  const readFrame = (): Buffer | undefined => {
    if (pending.length < FRAME_HEAD_BYTES) return undefined
    const length = pending.readUInt32BE(0)
    const flag = pending[4]
    if (length > CHUNK_BYTES || (flag !== 0 && flag !== 1))
      throw corrupt('a chunk header is invalid')
    const total = FRAME_HEAD_BYTES + length + TAG_BYTES
    if (pending.length < total) return undefined
    const last = flag === 1
    const decipher = createDecipheriv('aes-256-gcm', cipherKey as Buffer, nonceOf(counter))
    decipher.setAAD(additionalData(header as Buffer, last, counter))
    decipher.setAuthTag(pending.subarray(FRAME_HEAD_BYTES + length, total))
    let plain: Buffer
    try {
      plain = Buffer.concat([
        decipher.update(pending.subarray(FRAME_HEAD_BYTES, FRAME_HEAD_BYTES + length)),
        decipher.final(),
      ])
    } catch {
      throw corrupt(`chunk ${counter} failed authentication (altered or out of order)`)
    }
    counter += 1n
    finished = last
    pending = pending.subarray(total)
    return plain
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        if (finished) throw corrupt('bytes follow its last chunk')
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
        if (!header && !readHeader()) return callback()
        for (let plain = readFrame(); plain; plain = finished ? undefined : readFrame()) {
          this.push(plain)
        }
        if (finished && pending.length > 0) throw corrupt('bytes follow its last chunk')
        callback()
      } catch (error) {
        callback(error as Error)
      }
    },
    flush(callback) {
      if (!finished) return callback(corrupt('it ends before its last chunk (truncated)'))
      callback()
    },
  })
}
