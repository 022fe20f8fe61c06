import type { AccessClaims } from './token-signer.js'

type Claims = Required<AccessClaims>

/**
 * Access tokens whose signature was already verified, with their claims. An EdDSA verify costs
 * ~600 µs (measured), far more than the two primary-key lookups that follow it, so only the
 * verify is cached: the record and session are still read on every request, which keeps
 * log-out, session revocation and password changes effective at once on every node.
 * A token's claims never change, so an entry is good until the token expires; `ttlMs` only
 * bounds how long memory is held. At `maxEntries` the oldest entry goes (Map insertion order).
 *
 * @example
 *   const cache = createTokenCache({ ttlMs: 60_000, maxEntries: 10_000 })
 */
export function createTokenCache(options: { ttlMs: number; maxEntries: number }) {
  const entries = new Map<string, { claims: Claims; until: number }>()
  return {
    get(token: string, now: number): Claims | undefined {
      const entry = entries.get(token)
      if (!entry) return undefined
      if (entry.until <= now) {
        entries.delete(token)
        return undefined
      }
      return entry.claims
    },
    set(token: string, claims: Claims, now: number): void {
      if (options.ttlMs <= 0) return
      if (entries.size >= options.maxEntries) {
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
      entries.set(token, { claims, until: Math.min(now + options.ttlMs, claims.exp * 1000) })
    },
    get size() {
      return entries.size
    },
  }
}

export type TokenCache = ReturnType<typeof createTokenCache>
