import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Longest opaque token accepted anywhere; longer input is rejected before hashing. */
export const MAX_OPAQUE_TOKEN_LENGTH = 128

/**
 * A new opaque secret: a recognisable prefix (so leaked tokens are easy to scan for) and 256
 * random bits, base64url.
 *
 * @example
 *   newOpaqueToken('err_') // 'err_3q2-7wE…' (47 characters)
 */
export function newOpaqueToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url')
}

/**
 * How opaque tokens are stored. SHA-256 without salt is enough here: the input has 256 bits of
 * entropy, so neither brute force nor precomputed tables apply (unlike passwords).
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** Whether `token` looks like one of ours with `prefix`, before any lookup is spent on it. */
export function isOpaqueToken(token: unknown, prefix: string): token is string {
  return (
    typeof token === 'string' &&
    token.length <= MAX_OPAQUE_TOKEN_LENGTH &&
    token.startsWith(prefix) &&
    /^[A-Za-z0-9_-]+$/.test(token)
  )
}

/** Constant-time string equality (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest()
  const right = createHash('sha256').update(b).digest()
  return timingSafeEqual(left, right)
}
