import { randomUUID } from 'node:crypto'
import type { Bus } from '../../bus/bus.js'
import {
  CACHE_CHANNEL,
  type CacheLimits,
  type CachedAnswer,
  type ResponseCache,
  type VersionMessage,
} from '../cache.js'

interface Entry extends CachedAnswer {
  bytes: number
  expires: number
}

/**
 * The embedded response cache: an LRU bounded by bytes in this process, and a counter per
 * collection. A write here counts at once (read-your-writes needs no round trip); with a bus
 * (`serve --workers`) the other workers count it too when the message arrives.
 *
 * @example
 *   const cache = await createMemoryCache({ maxBytes: 64 << 20, ttlMs: 60_000 })
 *   await cache.bump(['posts'])
 *   cache.versions(['posts', 'users']) // '1,0'
 */
export async function createMemoryCache(
  limits: CacheLimits,
  bus?: Bus,
  now: () => number = Date.now,
): Promise<ResponseCache> {
  const entries = new Map<string, Entry>()
  const counters = new Map<string, number>()
  const nodeId = randomUUID()
  let bytes = 0
  let evictions = 0

  const drop = (key: string, entry: Entry) => {
    entries.delete(key)
    bytes -= entry.bytes
  }
  const count = (names: readonly string[]) => {
    for (const name of names) counters.set(name, (counters.get(name) ?? 0) + 1)
  }
  const unsubscribe = await bus?.subscribe(CACHE_CHANNEL, (text) => {
    const message = JSON.parse(text) as VersionMessage
    if (message.from !== nodeId && message.names) count(message.names)
  })

  return {
    kind: 'memory',
    async get(key) {
      const entry = entries.get(key)
      if (!entry) return undefined
      if (entry.expires <= now()) {
        drop(key, entry)
        return undefined
      }
      // Most recently used last: Map keeps insertion order, so the first key is the coldest.
      entries.delete(key)
      entries.set(key, entry)
      return entry
    },
    async set(key, answer) {
      // Strings are UTF-16 in memory: two bytes a character, plus the key.
      const size = 2 * (answer.body.length + answer.etag.length + key.length)
      if (size > limits.maxBytes / 16) return
      const old = entries.get(key)
      if (old) drop(key, old)
      entries.set(key, { ...answer, bytes: size, expires: now() + limits.ttlMs })
      bytes += size
      for (const [coldKey, cold] of entries) {
        if (bytes <= limits.maxBytes) break
        drop(coldKey, cold)
        evictions++
      }
    },
    versions(collections) {
      return collections.map((name) => counters.get(name) ?? 0).join(',')
    },
    async bump(collections) {
      count(collections)
      const message: VersionMessage = { from: nodeId, names: [...collections] }
      await bus?.publish(CACHE_CHANNEL, JSON.stringify(message))
    },
    unannounced: () => [],
    get evictions() {
      return evictions
    },
    get entries() {
      return entries.size
    },
    async close() {
      await unsubscribe?.()
      entries.clear()
    },
  }
}
