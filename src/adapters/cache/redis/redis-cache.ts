import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Bus } from '../../bus/bus.js'
import {
  CACHE_CHANNEL,
  type CacheLimits,
  type CachedAnswer,
  type ResponseCache,
  type VersionMessage,
} from '../cache.js'

export interface RedisCacheOptions extends CacheLimits {
  redis: Redis
  bus: Bus
  /** Prepended to every key, so deployments (and test runs) sharing a Redis stay apart. */
  prefix: string
  /** How long a version read from Redis is trusted without news from the bus (default 1000 ms). */
  recheckMs?: number
}

interface Known {
  /** Undefined while a write of this node is being counted, or before the first read. */
  value: number | undefined
  readAt: number
}

/**
 * The cluster response cache: answers in Redis (`<prefix>a:<key>`, with a TTL) and one counter
 * per collection (`<prefix>v:<name>`) shared by every node, so a node reuses what another
 * computed. A write INCRs its collections' counters and publishes the new values on the bus;
 * every node keeps the latest values in memory and re-reads them at most every `recheckMs`, so a
 * lost bus message costs at most that long. Until a version is known for sure, `versions`
 * answers undefined and the request bypasses the cache. Redis errors bypass it too (fail open).
 *
 * @example
 *   const cache = await createRedisCache({ redis, bus, prefix: 'er:cache:', maxBytes: 64 << 20, ttlMs: 60_000 })
 */
export async function createRedisCache(options: RedisCacheOptions): Promise<ResponseCache> {
  const { redis, bus, prefix } = options
  const recheckMs = options.recheckMs ?? 1000
  const nodeId = randomUUID()
  const known = new Map<string, Known>()
  const refreshing = new Set<string>()
  /** Writes not yet counted in Redis (it was down): retried, and unknown here meanwhile. */
  const owed = new Set<string>()
  let retry: NodeJS.Timeout | undefined

  const learn = (name: string, value: number, readAt: number) => {
    if (owed.has(name)) return
    const old = known.get(name)
    // Never backwards: a slow read must not undo a newer value from the bus.
    if (old?.value !== undefined && old.value > value) return
    if (old && old.value === undefined && old.readAt > readAt) return
    known.set(name, { value, readAt })
  }
  const refresh = (names: string[]) => {
    const missing = names.filter((name) => !refreshing.has(name))
    if (missing.length === 0) return
    for (const name of missing) refreshing.add(name)
    const startedAt = Date.now()
    redis
      .mget(missing.map((name) => `${prefix}v:${name}`))
      .then((values) => {
        missing.forEach((name, i) => learn(name, Number(values[i] ?? 0), startedAt))
      })
      .catch(() => {})
      .finally(() => {
        for (const name of missing) refreshing.delete(name)
      })
  }
  const unsubscribe = await bus.subscribe(CACHE_CHANNEL, (text) => {
    const message = JSON.parse(text) as VersionMessage
    const at = Date.now()
    for (const [name, value] of Object.entries(message.versions ?? {})) learn(name, value, at)
  })

  const cache: ResponseCache = {
    kind: 'redis',
    async get(key) {
      try {
        const text = await redis.get(`${prefix}a:${key}`)
        if (text === null) return undefined
        const split = text.indexOf('\n')
        return { etag: text.slice(0, split), body: text.slice(split + 1) }
      } catch {
        return undefined
      }
    },
    async set(key, answer: CachedAnswer) {
      if (answer.body.length > options.maxBytes / 16) return
      try {
        await redis.set(`${prefix}a:${key}`, `${answer.etag}\n${answer.body}`, 'PX', options.ttlMs)
      } catch {
        // Fail open: the next request computes the answer again.
      }
    },
    versions(collections) {
      const now = Date.now()
      const stale = collections.filter((name) => {
        const entry = known.get(name)
        return entry?.value === undefined || now - entry.readAt >= recheckMs
      })
      if (stale.length > 0) refresh(stale)
      const values: number[] = []
      for (const name of collections) {
        const value = known.get(name)?.value
        if (value === undefined) return undefined
        values.push(value)
      }
      return values.join(',')
    },
    async bump(collections) {
      const at = Date.now()
      // Unknown until the new value is back: this node's next reads bypass the cache, so a
      // caller never reads the answer from before its own write.
      for (const name of collections) known.set(name, { value: undefined, readAt: at })
      try {
        const pipeline = redis.multi()
        for (const name of collections) pipeline.incr(`${prefix}v:${name}`)
        const results = (await pipeline.exec()) ?? []
        const versions: Record<string, number> = {}
        collections.forEach((name, i) => {
          const value = Number(results[i]?.[1])
          if (Number.isFinite(value)) {
            versions[name] = value
            learn(name, value, Date.now())
          }
        })
        const message: VersionMessage = { from: nodeId, versions }
        await bus.publish(CACHE_CHANNEL, JSON.stringify(message))
      } catch {
        // Redis is down: the versions stay unknown here (bypass) until the INCR goes through on
        // a retry; other nodes stop trusting theirs within recheckMs and bypass too.
        for (const name of collections) owed.add(name)
        retry ??= setTimeout(() => {
          retry = undefined
          const names = [...owed]
          owed.clear()
          void cache.bump(names)
        }, recheckMs)
        retry.unref()
      }
    },
    unannounced: () => [...owed],
    evictions: 0,
    entries: undefined,
    async close() {
      clearTimeout(retry)
      await unsubscribe()
    },
  }
  return cache
}
