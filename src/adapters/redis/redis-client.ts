import { Redis } from 'ioredis'

/**
 * A Redis client for shared state (rate-limit counters now; cache and bus later). Commands fail
 * at once while disconnected instead of queueing, so a Redis outage makes rate limiting fail
 * open and readiness fail fast rather than stalling requests; it reconnects in the background.
 *
 * @example
 *   const redis = openRedis('redis://127.0.0.1:6379')
 */
export function openRedis(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  })
  // Without a listener, a connection error would be an unhandled 'error' event.
  redis.on('error', () => {})
  return redis
}

/**
 * Ends a client whatever the state of its connection. `quit` is the polite end (the server
 * answers what was sent first), but with Redis unreachable a client without an offline queue
 * rejects it and goes on reconnecting, which would keep a command's process alive for ever.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect()
  await redis.quit().catch(() => redis.disconnect())
}
