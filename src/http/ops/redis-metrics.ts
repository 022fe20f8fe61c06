import type { EventEmitter } from 'node:events'
import { Counter, Gauge } from 'prom-client'
import type { Metrics } from './metrics.js'

/** What a Redis connection reports to metrics; `watch` it once, `error` for a failed command. */
export interface RedisWatch {
  watch(client: EventEmitter, name: string): void
  error(name: string): void
}

/**
 * The Redis connections of this process on a dashboard:
 * - `er_redis_errors_total{client}`: connection errors and failed commands (each one let a
 *   request through: rate limits and connection caps fail open);
 * - `er_redis_reconnects_total{client}`: reconnection attempts after a lost connection;
 * - `er_redis_connected{client}`: 1 while the connection is ready.
 * `client` names the connection: `commands` (rate limits, cache, connection leases),
 * `bus-publisher`, `bus-subscriber`.
 */
export function registerRedisMetrics(metrics: Metrics): RedisWatch {
  const errors = new Counter({
    name: 'er_redis_errors_total',
    help: 'Redis connection errors and failed commands, by connection.',
    labelNames: ['client'],
    registers: [metrics.registry],
  })
  const reconnects = new Counter({
    name: 'er_redis_reconnects_total',
    help: 'Redis reconnection attempts after a lost connection, by connection.',
    labelNames: ['client'],
    registers: [metrics.registry],
  })
  const connected = new Gauge({
    name: 'er_redis_connected',
    help: '1 while the Redis connection is ready, else 0.',
    labelNames: ['client'],
    registers: [metrics.registry],
  })
  return {
    watch(client, name) {
      errors.inc({ client: name }, 0)
      reconnects.inc({ client: name }, 0)
      connected.set({ client: name }, (client as { status?: string }).status === 'ready' ? 1 : 0)
      client.on('error', () => errors.inc({ client: name }))
      client.on('reconnecting', () => reconnects.inc({ client: name }))
      client.on('ready', () => connected.set({ client: name }, 1))
      client.on('close', () => connected.set({ client: name }, 0))
    },
    error(name) {
      errors.inc({ client: name })
    },
  }
}
