import { getRandomValues, randomFillSync } from 'node:crypto'

// Crockford's base32, lower-cased: sorts the same as the numbers it encodes, no ambiguous letters.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const RANDOM_CHARS = 10

let lastMillis = -1
let lastRandom: number[] = []

// Random bytes drawn 4 KiB at a time: one draw per id cost more than the rest of newId.
const pool = new Uint8Array(4096)
let poolOffset = pool.length

function randomDigits(count: number): number[] {
  if (poolOffset + count > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const digits = Array.from(pool.subarray(poolOffset, poolOffset + count), (b) => b & 31)
  poolOffset += count
  return digits
}

/**
 * A 20-character, time-sortable record id: 10 characters of milliseconds since the epoch, then
 * 10 random ones. Ids made in the same millisecond by this process still sort in creation order,
 * because the random part is incremented rather than redrawn.
 *
 * @example
 *   newId() // '01jq3v9m2k7f4x8c2d9a'
 */
export function newId(now: number = Date.now()): string {
  if (now <= lastMillis) {
    incrementRandom()
  } else {
    lastMillis = now
    lastRandom = randomDigits(RANDOM_CHARS)
  }
  let time = ''
  let t = lastMillis
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  return time + lastRandom.map((d) => ALPHABET[d]).join('')
}

function incrementRandom(): void {
  for (let i = lastRandom.length - 1; i >= 0; i--) {
    const digit = (lastRandom[i] ?? 0) + 1
    if (digit < 32) {
      lastRandom[i] = digit
      return
    }
    lastRandom[i] = 0
  }
}

/** What a client may send as its own `id` on create. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** A short random id for schema objects (collections, fields). */
export function newShortId(prefix: string): string {
  const bytes = getRandomValues(new Uint8Array(10))
  return prefix + Array.from(bytes, (b) => ALPHABET[b & 31]).join('')
}
