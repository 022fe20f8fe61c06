import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
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

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url')
}

function scopeHash(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 16)
}
