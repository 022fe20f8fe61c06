import {
  createHash,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'
import { EngineError } from '../../core/errors/index.js'

/**
 * Keyset cursors: the sort values of the last row of a page, bound to the collection, filter and
 * sort that produced it, and signed with the server's secret so a client can neither forge a
 * position nor carry a cursor over to another query.
 *
 * Form: base64url(JSON [scope, values]) "." base64url(HMAC-SHA256)
 */
export function encodeCursor(secret: string, scope: string, values: unknown[]): string {
  const payload = Buffer.from(JSON.stringify([scopeHash(scope), values])).toString('base64url')
  return `${payload}.${sign(secret, payload)}`
}

export function decodeCursor(secret: string, scope: string, cursor: string): unknown[] {
  const invalid = (why: string) =>
    new EngineError('ER_CURSOR_INVALID', `The cursor ${why}; start again without a cursor.`, {
      errors: { cursor: [{ code: 'invalid', message: why }] },
    })
  if (cursor.length > 4096) throw invalid('is too long')
  const [payload, signature, extra] = cursor.split('.')
  if (!payload || !signature || extra !== undefined) throw invalid('is malformed')
  const expected = Buffer.from(sign(secret, payload))
  const given = Buffer.from(signature)
  // Constant-time: a timing difference must not reveal how much of a forged signature matched.
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw invalid('has been tampered with')
  const [boundScope, values] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [
    string,
    unknown[],
  ]
  if (boundScope !== scopeHash(scope)) throw invalid('was made for another filter or sort')
  return values
}

/** The secret as a key object, made once: a string key is converted on every HMAC. */
const keys = new Map<string, KeyObject>()

function sign(secret: string, payload: string): string {
  let key = keys.get(secret)
  if (!key) {
    if (keys.size >= 4) keys.clear()
    keys.set(secret, (key = createSecretKey(Buffer.from(secret))))
  }
  return createHmac('sha256', key).update(payload).digest('base64url')
}

/** Scopes repeat (the same lists are paged over and over): their hashes are kept, a few hundred. */
const scopeHashes = new Map<string, string>()

function scopeHash(scope: string): string {
  let hash = scopeHashes.get(scope)
  if (hash === undefined) {
    hash = createHash('sha256').update(scope).digest('base64url').slice(0, 16)
    if (scopeHashes.size >= 256) scopeHashes.delete(scopeHashes.keys().next().value as string)
    scopeHashes.set(scope, hash)
  }
  return hash
}
