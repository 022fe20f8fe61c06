import { Counter, Gauge, Histogram } from 'prom-client'
import type { Engine } from '../../services/create-engine.js'
import { DISPATCH_CURSOR_KEY } from '../../services/realtime/change-dispatcher.js'
import type { Metrics } from './metrics.js'

/**
 * Gauges read when Prometheus scrapes (never on the request path):
 * - `er_realtime_connections`: open SSE streams on this process;
 * - `er_outbox_backlog_events`: committed change events the dispatcher has not published yet
 *   (the same for every node: it is read from the shared store).
 * Registered once per registry, and only when the engine runs realtime.
 */
export function registerEngineGauges(metrics: Metrics, engine: Engine): void {
  registerJobMetrics(metrics, engine)
  const realtime = engine.realtime
  if (!realtime || metrics.registry.getSingleMetric('er_realtime_connections')) return
  new Gauge({
    name: 'er_realtime_connections',
    help: 'Open realtime (SSE) streams on this process.',
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
      const cursor = Number((await engine.store.getSetting(DISPATCH_CURSOR_KEY)) ?? 0)
      this.set(Math.max(0, Number(last) - (Number.isFinite(cursor) ? cursor : 0)))
    },
  })
}

/**
 * - `er_jobs{state}`: jobs per state in the queue (queued is the depth, dead the dead letters),
 *   read from the shared queue at scrape time;
 * - `er_job_attempts_total{name,outcome}`: attempts run on this process (completed, failed,
 *   dead), and `er_job_duration_seconds{name}` of the completed ones.
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
}
