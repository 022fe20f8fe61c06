import type { CollectionDef } from '../../core/schema/types.js'
import type { AuthIdentity } from '../context.js'

export interface CallerCacheOptions {
  /**
   * How long a checked caller is trusted without reading its session and record again. Changes
   * made by this process end it at once (the store's caller generation moves); changes made by
   * another process (another node, another `--workers` worker, the CLI) take at most this long.
   * 0 reads them on every request.
   */
  recheckMs: number
  maxEntries: number
}

/** When an entry was read: what it is valid against. */
export interface CallerStamp {
  /** `store.callerGeneration` before the session was read. */
  generation: number
  /** The registry's catalogue the identity's collection came from. */
  catalogue: ReadonlyMap<string, CollectionDef>
}

/**
 * Callers already checked against the store (session live, record and password unchanged), by
 * access token. Reading them costs one joined statement per request, the largest part of an
 * authenticated get by id (see bench/NOTES-perf.md); within `recheckMs` a repeat caller is
 * answered from memory instead. An entry is good while the store's caller generation and the
 * registry's catalogue are those it was read under, and for at most `recheckMs`.
 *
 * Identities are frozen: one object serves many requests, so none may change it.
 *
 * @example
 *   const callers = createCallerCache({ recheckMs: 1000, maxEntries: 10_000 })
 */
export function createCallerCache(options: CallerCacheOptions) {
  const entries = new Map<
    string,
    CallerStamp & { identity: AuthIdentity; kid: string; until: number }
  >()
  return {
    /** The identity, when checked under `current` and not past its time; `kid` to re-check. */
    get(
      token: string,
      now: number,
      current: CallerStamp,
    ): { identity: AuthIdentity; kid: string } | undefined {
      const entry = entries.get(token)
      if (!entry) return undefined
      if (
        entry.until <= now ||
        entry.generation !== current.generation ||
        entry.catalogue !== current.catalogue
      ) {
        entries.delete(token)
        return undefined
      }
      return entry
    },
    /**
     * Keeps `identity` for `token`, whose claims give the signing key (`kid`) and expiry (`exp`,
     * seconds): an entry never outlives its token.
     */
    set(
      token: string,
      identity: AuthIdentity,
      stamp: CallerStamp,
      now: number,
      claims: { kid: string; exp: number },
    ): AuthIdentity {
      Object.freeze(identity.record)
      Object.freeze(identity)
      if (options.recheckMs <= 0) return identity
      if (entries.size >= options.maxEntries) {
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
      const until = Math.min(now + options.recheckMs, claims.exp * 1000)
      entries.set(token, { ...stamp, identity, kid: claims.kid, until })
      return identity
    },
    get size() {
      return entries.size
    },
  }
}
