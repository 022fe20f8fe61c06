import type { Redis } from 'ioredis'

/**
 * Read-your-writes with read replicas: a caller that just wrote is pinned to the primary for a
 * while (longer than the replicas' lag), so its next read sees its write. Pins are kept in this
 * process and, with Redis, shared by every node (`<prefix>pin:<caller>` with a TTL), so a read
 * sent to another node by the load balancer is pinned too.
 */
export interface ReadPins {
  /** Pins `caller` to the primary for the pin time from now. */
  pin(caller: string): void
  /** Whether `caller` wrote within the pin time (on any node, with Redis). */
  isPinned(caller: string): Promise<boolean>
}

/**
 * @example
 *   const pins = createReadPins({ ttlMs: 5000, redis, prefix: 'er:abc:' })
 *   pins.pin('users:ann')
 *   await pins.isPinned('users:ann') // true for 5 s, on every node
 */
export function createReadPins(options: {
  ttlMs: number
  redis?: Redis | undefined
  prefix?: string
  /** A Redis command failed (the read then goes to the primary, the safe side). */
  onError?: (error: unknown) => void
  /** Bounds the in-process map: past it the oldest pins are dropped (Redis still has them). */
  maxLocal?: number
}): ReadPins {
  const { ttlMs, redis } = options
  const maxLocal = options.maxLocal ?? 100_000
  const local = new Map<string, number>()
  const keyOf = (caller: string) => `${options.prefix ?? 'er:'}pin:${caller}`
  return {
    pin(caller) {
      // Re-inserted so the map stays in pin order: the oldest are the first to go.
      local.delete(caller)
      local.set(caller, Date.now() + ttlMs)
      if (local.size > maxLocal) local.delete(local.keys().next().value as string)
      redis?.set(keyOf(caller), '1', 'PX', ttlMs).catch((error: unknown) => {
        options.onError?.(error)
      })
    },
    async isPinned(caller) {
      const until = local.get(caller)
      if (until !== undefined) {
        if (until > Date.now()) return true
        local.delete(caller)
      }
      if (!redis) return false
      try {
        return (await redis.exists(keyOf(caller))) === 1
      } catch (error) {
        options.onError?.(error)
        // Unknown: the primary is always right.
        return true
      }
    },
  }
}
