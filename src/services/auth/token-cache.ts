import type { AccessClaims, TokenSigner } from './token-signer.js'

type Claims = Required<AccessClaims>

/**
 * Access tokens whose signature was already verified, with their claims. An EdDSA verify costs
 * ~600 µs (measured), far more than the primary-key lookup that follows it. The session and
 * record behind a token are cached apart, for a much shorter time (caller-cache.ts).
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

/**
 * The signer with `verify` answered from a {@link TokenCache}: every caller of the engine's
 * `tokens` shares it (the auth service, and the rate limiter, which reads the subject of every
 * request's token before the route runs). A hit still requires the signing key to be known, so
 * a removed key takes its tokens with it, cached or not.
 *
 * @example
 *   const tokens = withVerifyCache(await loadTokenSigner(store, { ttlSeconds: 3600 }), { ttlMs: 60_000, maxEntries: 10_000 })
 */
export function withVerifyCache(
  signer: TokenSigner,
  options: { ttlMs: number; maxEntries: number },
): TokenSigner {
  const cache = createTokenCache(options)
  const cached: TokenSigner = {
    ...signer,
    async verify(token) {
      // A removed key takes its cached tokens with it on this node's next re-read at the latest.
      if (signer.keysStale()) await signer.refreshIfStale()
      // Real time, not an injectable clock: expiry is judged by jose against real time too.
      const now = Date.now()
      const hit = cache.get(token, now)
      if (hit && signer.knowsKey(hit.kid)) return hit
      // Looked up on the object at call time, so a test can count the real verifications.
      const claims = await cached.verifySignature(token)
      cache.set(token, claims, now)
      return claims
    },
  }
  return cached
}
