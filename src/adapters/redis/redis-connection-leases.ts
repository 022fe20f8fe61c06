import type { Redis } from 'ioredis'
import type { ConnectionLeases } from '../../services/realtime/realtime-connections.js'

export interface RedisConnectionLeasesOptions {
  redis: Redis
  /** The deployment's key prefix (`<prefix>rt:conn:<user>`). */
  prefix: string
  /** How long a slot lives without renewal: a dead node's slots lapse after this (default 30 s). */
  leaseMs?: number
  /** A Redis command failed: the slot was granted anyway (fail open) and will be renewed. */
  onError?: (error: unknown, operation: 'acquire' | 'renew' | 'release') => void
}

/*
 * One sorted set per user: member = lease id, score = expiry in Redis's own clock (TIME), so
 * nodes with skewed clocks agree. Taking a slot drops the lapsed leases, counts the rest and adds
 * one, all in one script: two nodes racing for the last slot cannot both get it.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`

/*
 * Pushes the expiry of this node's live leases of one user forward. A lease that lapsed (the
 * node was cut off from Redis for longer than the lease) is added back: its connection is open,
 * so it counts, even if that briefly puts the user over the cap.
 */
const RENEW = `
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expires, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`

/**
 * Realtime connection slots per user shared through Redis, as leases this node renews every
 * third of the lease time. A node killed with its connections open stops renewing; its slots
 * lapse within `leaseMs`. A graceful close gives every slot back at once.
 *
 * Fails open: when Redis does not answer, a slot is granted (the node's own count still caps the
 * user on this node) and counted in Redis by the next renewal once Redis is back.
 *
 * @example
 *   connections.share(createRedisConnectionLeases({ redis, prefix: 'er:' }))
 */
export function createRedisConnectionLeases(
  options: RedisConnectionLeasesOptions,
): ConnectionLeases & { close(): Promise<void>; held(): number } {
  const { redis } = options
  const leaseMs = options.leaseMs ?? 30_000
  const onError = options.onError ?? (() => {})
  const keyOf = (user: string) => `${options.prefix}rt:conn:${user}`
  /** This node's live leases, by user: what renewal keeps alive. */
  const held = new Map<string, Set<string>>()

  const renew = async () => {
    if (held.size === 0) return
    const pipeline = redis.pipeline()
    for (const [user, leases] of held) pipeline.eval(RENEW, 1, keyOf(user), leaseMs, ...leases)
    try {
      const results = (await pipeline.exec()) ?? []
      const failed = results.find(([error]) => error)
      if (failed) onError(failed[0], 'renew')
    } catch (error) {
      onError(error, 'renew')
    }
  }
  const timer = setInterval(() => void renew(), Math.max(500, Math.floor(leaseMs / 3)))
  // Renewal never keeps a process alive that has nothing else to do.
  timer.unref()

  const forget = (user: string, lease: string) => {
    const leases = held.get(user)
    if (!leases?.delete(lease)) return false
    if (leases.size === 0) held.delete(user)
    return true
  }

  return {
    async acquire(user, lease, max) {
      let granted = true
      try {
        granted = Number(await redis.eval(ACQUIRE, 1, keyOf(user), lease, max, leaseMs)) === 1
      } catch (error) {
        onError(error, 'acquire')
      }
      if (granted) {
        let leases = held.get(user)
        if (!leases) held.set(user, (leases = new Set()))
        leases.add(lease)
      }
      return granted
    },
    release(user, lease) {
      if (!forget(user, lease)) return
      // Not awaited: a lost release only keeps the slot until its lease lapses.
      redis.zrem(keyOf(user), lease).catch((error: unknown) => onError(error, 'release'))
    },
    held() {
      let n = 0
      for (const leases of held.values()) n += leases.size
      return n
    },
    async close() {
      clearInterval(timer)
      if (held.size === 0) return
      const pipeline = redis.pipeline()
      for (const [user, leases] of held) pipeline.zrem(keyOf(user), ...leases)
      held.clear()
      await pipeline.exec().catch((error: unknown) => onError(error, 'release'))
    },
  }
}
