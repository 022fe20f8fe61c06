/**
 * The response cache port: finished read answers (a body and its ETag) under keys the HTTP
 * layer builds, and one version per collection that every committed write moves, on every
 * node. A key names the versions it was computed under, so a write never deletes entries: it
 * makes them unreachable, and the store's LRU or TTL drops them.
 *
 * Implementations: in-process LRU (`memory/`, embedded mode; `serve --workers` tells the other
 * workers through the bus) and Redis (`redis/`, cluster mode: entries and versions shared by
 * every node). Only `main.ts` picks one.
 */
export interface CachedAnswer {
  etag: string
  body: string
}

export interface ResponseCache {
  /** `memory` or `redis`, for metrics and logs. */
  readonly kind: 'memory' | 'redis'
  get(key: string): Promise<CachedAnswer | undefined>
  set(key: string, answer: CachedAnswer): Promise<void>
  /**
   * The collections' current versions joined into one string (sorted names in, same order out),
   * or undefined while one is not known for sure (a write of this node not yet counted, a
   * version not read since `recheckMs`): the caller then neither reads nor fills the cache.
   * Read from memory: the request path never waits on the network for it.
   */
  versions(collections: readonly string[]): string | undefined
  /** Moves the collections' versions here and on every other node (after a commit). */
  bump(collections: readonly string[]): Promise<void>
  /**
   * Collections whose version moves have not reached the shared store yet (Redis was
   * unreachable; they are retried in the background). Always empty in memory.
   */
  unannounced(): readonly string[]
  /** Entries dropped to stay within the size bound (the LRU's; Redis evicts on its own). */
  readonly evictions: number
  /** Entries held (the LRU's; undefined for Redis). */
  readonly entries: number | undefined
  close(): Promise<void>
}

/** The bus channel versions travel on (see `VersionMessage`). */
export const CACHE_CHANNEL = 'cache-versions'

/**
 * A bus message: `versions` for shared counters (Redis: the value each now has), `names` for
 * per-process counters (memory: each receiver counts one more).
 */
export interface VersionMessage {
  from: string
  names?: string[]
  versions?: Record<string, number>
}

/** Size and lifetime bounds (`ER_CACHE_MAX_BYTES`, `ER_CACHE_TTL`). */
export interface CacheLimits {
  /** Bytes of bodies held (LRU); one answer larger than a sixteenth of it is not cached. */
  maxBytes: number
  /** Milliseconds an entry lives at most (also bounds what a missed invalidation could cost). */
  ttlMs: number
}
