import { collectDefaultMetrics, Registry } from 'prom-client'
import type { QueryEvent } from '../../adapters/store/store.js'
import { FastHistogram } from './fast-histogram.js'

/** The process's Prometheus registry and the engine's own instruments. */
export interface Metrics {
  registry: Registry
  /** `er_http_request_duration_seconds{method,route,status_class}` */
  httpDuration: FastHistogram<'method' | 'route' | 'status_class'>
  /** `er_store_query_duration_seconds{statement,outcome}` */
  storeQueryDuration: FastHistogram<'statement' | 'outcome'>
  /** A store query observer feeding `storeQueryDuration`. */
  observeQuery(event: QueryEvent): void
}

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const QUERY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2]
const STATEMENTS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'with',
  'create',
  'alter',
  'drop',
])

/**
 * A registry of its own per server (never prom-client's global one), so two apps in one process
 * (tests, a metrics port) never collide. `processMetrics` adds prom-client's default set:
 * CPU, memory, handles, GC and event-loop lag (`nodejs_eventloop_lag_seconds`).
 *
 * @example
 *   const metrics = createMetrics({ processMetrics: true })
 *   await openSqliteStore({ file, onQuery: metrics.observeQuery })
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (options.processMetrics) collectDefaultMetrics({ register: registry })
  // Observed on every request and every statement: see fast-histogram.ts.
  const httpDuration = new FastHistogram({
    name: 'er_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status class (2xx, 4xx …).',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  })
  const storeQueryDuration = new FastHistogram({
    name: 'er_store_query_duration_seconds',
    help: 'SQL statements by leading keyword and outcome (ok, error).',
    labelNames: ['statement', 'outcome'] as const,
    buckets: QUERY_BUCKETS,
    registers: [registry],
  })
  return {
    registry,
    httpDuration,
    storeQueryDuration,
    observeQuery(event) {
      // Only the leading keyword: table names are user data and SQL text is unbounded.
      const keyword = /^\s*\(?\s*([a-z]+)/i.exec(event.sql)?.[1]?.toLowerCase() ?? ''
      storeQueryDuration.observe(
        {
          statement: STATEMENTS.has(keyword) ? keyword : 'other',
          outcome: event.failed ? 'error' : 'ok',
        },
        event.durationMs / 1000,
      )
    },
  }
}
