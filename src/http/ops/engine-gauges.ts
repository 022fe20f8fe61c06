import { Counter, Gauge, Histogram } from 'prom-client'
import type { Engine } from '../../services/create-engine.js'
import {
  DISPATCH_CURSOR_KEY,
  parseDispatchCursor,
} from '../../services/realtime/change-dispatcher.js'
import type { Metrics } from './metrics.js'

/**
 * Gauges read when Prometheus scrapes (never on the request path):
 * - `er_realtime_connections{transport="sse"|"ws"}`: open realtime connections on this process
 *   (SSE streams and GraphQL WebSockets, signed in or not: what the connection limits count);
 * - `er_realtime_subscriptions`: open change streams of the hub (one per SSE connection, one
 *   per GraphQL subscription);
 * - `er_outbox_backlog_events`: committed change events the dispatcher has not published yet
 *   (from the cursor in the shared store, which is saved lazily, or this process's dispatcher
 *   when it is further on).
 * Registered once per registry, and only when the engine runs realtime.
 */
export function registerEngineGauges(metrics: Metrics, engine: Engine): void {
  registerExtensionGauges(metrics, engine)
  registerJobMetrics(metrics, engine)
  const realtime = engine.realtime
  if (!realtime || metrics.registry.getSingleMetric('er_realtime_connections')) return
  new Gauge({
    name: 'er_realtime_connections',
    help: 'Open realtime connections (SSE streams, GraphQL WebSockets) on this process.',
    labelNames: ['transport'],
    registers: [metrics.registry],
    collect() {
      this.set({ transport: 'sse' }, realtime.connections.count('sse'))
      this.set({ transport: 'ws' }, realtime.connections.count('ws'))
    },
  })
  new Gauge({
    name: 'er_realtime_subscriptions',
    help: 'Open change streams on this process (SSE connections and GraphQL subscriptions).',
    registers: [metrics.registry],
    collect() {
      this.set(realtime.hub.size)
    },
  })
  new Gauge({
    name: 'er_outbox_backlog_events',
    help: 'Committed change events not yet published to the bus.',
    registers: [metrics.registry],
    async collect() {
      const { last } = await engine.store.outboxBounds()
      const saved = parseDispatchCursor(await engine.store.getSetting(DISPATCH_CURSOR_KEY)).id
      this.set(Math.max(0, Number(last) - Math.max(saved, realtime.dispatcher.published())))
    },
  })
}

/**
 * The extension's after hooks, so that a hook that keeps failing shows on a dashboard:
 * - `er_extension_hook_failures_total`: failed attempts on this process since start;
 * - `er_extension_hook_failing_attempts`: failed attempts in a row on the event now blocking
 *   the hooks (0 when none is; alert when it stays above a few);
 * - `er_extension_hook_backlog_events`: committed events the hooks have not handled yet.
 */
function registerExtensionGauges(metrics: Metrics, engine: Engine): void {
  const runner = engine.extension?.afterHooks
  if (!runner || metrics.registry.getSingleMetric('er_extension_hook_failures_total')) return
  new Gauge({
    name: 'er_extension_hook_failures_total',
    help: 'Failed attempts of extension after hooks on this process since it started.',
    registers: [metrics.registry],
    collect() {
      this.set(runner.stats().failures)
    },
  })
  new Gauge({
    name: 'er_extension_hook_failing_attempts',
    help: 'Failed attempts in a row on the outbox event blocking the extension after hooks.',
    registers: [metrics.registry],
    collect() {
      this.set(runner.stats().failingAttempts)
    },
  })
  new Gauge({
    name: 'er_extension_hook_backlog_events',
    help: 'Committed change events the extension after hooks have not handled yet.',
    registers: [metrics.registry],
    async collect() {
      const { last } = await engine.store.outboxBounds()
      this.set(Math.max(0, last - (await runner.cursor())))
    },
  })
}

/**
 * The job queue:
 * - `er_jobs{state}`: jobs per state in the queue (queued is the depth, dead the dead letters),
 *   read from the shared queue at scrape time;
 * - `er_job_attempts_total{name,outcome}`: attempts run on this process (completed, failed,
 *   dead), and `er_job_duration_seconds{name}` of the completed ones;
 * - `er_job_wait_seconds{name}`: queue latency, from due to the first attempt's start;
 * - `er_webhook_deliveries_total{outcome}` and `er_webhook_delivery_duration_seconds{outcome}`:
 *   delivery attempts made on this process (delivered, failed, refused).
 */
function registerJobMetrics(metrics: Metrics, engine: Engine): void {
  if (metrics.registry.getSingleMetric('er_jobs')) return
  new Gauge({
    name: 'er_jobs',
    help: 'Jobs in the queue by state.',
    labelNames: ['state'],
    registers: [metrics.registry],
    async collect() {
      const counts = await engine.jobs.queue.counts()
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n)
    },
  })
  const attempts = new Counter({
    name: 'er_job_attempts_total',
    help: 'Job attempts run on this process, by job name and outcome.',
    labelNames: ['name', 'outcome'],
    registers: [metrics.registry],
  })
  const duration = new Histogram({
    name: 'er_job_duration_seconds',
    help: 'Run time of completed job attempts on this process.',
    labelNames: ['name'],
    buckets: [0.005, 0.025, 0.1, 0.5, 2, 10, 60],
    registers: [metrics.registry],
  })
  engine.jobs.onOutcome((name, outcome, ms) => {
    attempts.inc({ name, outcome })
    if (ms !== undefined) duration.observe({ name }, ms / 1000)
  })
  const wait = new Histogram({
    name: 'er_job_wait_seconds',
    help: 'Time from a job being due (enqueued, or its delay over) to its first attempt starting on this process.',
    labelNames: ['name'],
    buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120, 600],
    registers: [metrics.registry],
  })
  engine.jobs.onWait((name, ms) => wait.observe({ name }, ms / 1000))
  const deliveries = new Counter({
    name: 'er_webhook_deliveries_total',
    help: 'Webhook delivery attempts on this process, by outcome (delivered, failed, refused).',
    labelNames: ['outcome'],
    registers: [metrics.registry],
  })
  const deliveryDuration = new Histogram({
    name: 'er_webhook_delivery_duration_seconds',
    help: 'Time of webhook delivery attempts on this process (request and answer).',
    labelNames: ['outcome'],
    buckets: [0.01, 0.05, 0.25, 1, 5, 15],
    registers: [metrics.registry],
  })
  engine.webhooks.onDelivery((outcome, ms) => {
    deliveries.inc({ outcome })
    deliveryDuration.observe({ outcome }, ms / 1000)
  })
}
