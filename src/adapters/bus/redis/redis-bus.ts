import { Redis } from 'ioredis'
import type { Bus } from '../bus.js'

export interface RedisBusOptions {
  url: string
  /** Prepended to every channel, so deployments (and test runs) sharing a Redis stay apart. */
  prefix?: string
  /** Each connection as it is made, for metrics (errors, reconnects). */
  onConnection?: (client: Redis, role: 'bus-publisher' | 'bus-subscriber') => void
}

/** The bus's first connection failed: Redis is down, or `REDIS_URL` names the wrong place. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
  constructor(cause: Error) {
    const reason = (cause as { code?: string }).code ?? cause.message
    super(`cannot reach Redis (${reason}). Check REDIS_URL and that Redis is running.`, { cause })
  }
}

/**
 * The distributed bus on Redis pub/sub: a message published on one node reaches subscribers on
 * every node. A subscribing connection cannot issue other commands, hence two connections.
 * Pub/sub drops messages while a node is disconnected; realtime recovers them from the outbox.
 *
 * @example
 *   const bus = await createRedisBus({ url: 'redis://127.0.0.1:6379', prefix: 'er:' })
 */
export async function createRedisBus(options: RedisBusOptions): Promise<Bus> {
  const prefix = options.prefix ?? 'er:'
  const publisher = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 3 })
  const subscriber = new Redis(options.url, { lazyConnect: true })
  // Connection errors are retried by ioredis; without a listener they would crash the process.
  publisher.on('error', () => {})
  subscriber.on('error', () => {})
  options.onConnection?.(publisher, 'bus-publisher')
  options.onConnection?.(subscriber, 'bus-subscriber')
  let lastError: Error | undefined
  publisher.once('error', (error: Error) => (lastError ??= error))
  try {
    await Promise.all([publisher.connect(), subscriber.connect()])
  } catch (error) {
    // Else both would go on reconnecting, and a process that gives up here would never exit.
    publisher.disconnect()
    subscriber.disconnect()
    throw new RedisUnreachableError(lastError ?? (error as Error))
  }
  const handlers = new Map<string, Set<(message: string) => void>>()
  subscriber.on('message', (channel: string, message: string) => {
    for (const handler of handlers.get(channel.slice(prefix.length)) ?? []) handler(message)
  })
  return {
    async publish(channel, message) {
      await publisher.publish(prefix + channel, message)
    },
    async subscribe(channel, handler) {
      let set = handlers.get(channel)
      if (!set) {
        handlers.set(channel, (set = new Set()))
        await subscriber.subscribe(prefix + channel)
      }
      set.add(handler)
      return async () => {
        set.delete(handler)
        if (set.size === 0) {
          handlers.delete(channel)
          const unsubscribing = subscriber.unsubscribe(prefix + channel)
          // Disconnected, the command would wait in the offline queue until Redis is back (a
          // stopping command would never end); a message for the channel finds no handler.
          if (subscriber.status === 'ready') await unsubscribing
          else unsubscribing.catch(() => {})
        }
      }
    },
    async close() {
      handlers.clear()
      publisher.disconnect()
      subscriber.disconnect()
    },
  }
}
