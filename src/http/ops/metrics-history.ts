import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Metrics } from './metrics.js'

/** One point of the dashboard's charts: what happened on this process during one interval. */
export interface MetricsPoint {
  /** End of the interval (ISO 8601). */
  at: string
  /** Length of the interval in seconds (the last, partial point is shorter). */
  seconds: number
  /** Requests answered in the interval, and their rate. */
  requests: number
  requestsPerSecond: number
  /** 95th percentile of response time (ms), estimated from the histogram's buckets; null idle. */
  p95Ms: number | null
  /** Answers with a 5xx status, and their share of all answers (0-1). */
  serverErrors: number
  errorRate: number
  /** Answers with a 4xx status (a client's mistake, or refused access). */
  clientErrors: number
  /** 99th percentile of event-loop delay in the interval (ms). */
  eventLoopLagP99Ms: number
  /** Open realtime connections (SSE and GraphQL WebSockets) at the end of the interval. */
  realtimeConnections: number
}

export interface MetricsHistory {
  /** The ring, oldest first, and a partial point for the interval under way. */
  read(): Promise<{ intervalSeconds: number; points: MetricsPoint[]; current: MetricsPoint }>
  /** Takes a sample now (the timer does this every interval). */
  sample(): Promise<void>
  stop(): void
}

export interface MetricsHistoryOptions {
  /** Sampling period (default 10 s). */
  intervalMs?: number
  /** Points kept (default 360: one hour at 10 s). */
  capacity?: number
}

/** Running totals of `er_http_request_duration_seconds` over every label set. */
interface Totals {
  at: number
  count: number
  serverErrors: number
  clientErrors: number
  /** Cumulative count per bucket upper bound, ascending (`+Inf` last). */
  buckets: [number, number][]
}

/**
 * The last hour of this process's own metrics for the dashboard, with no Prometheus needed.
 * A timer (unref'd, so it never keeps the process alive) reads the HTTP histogram every
 * interval and keeps the difference from the previous reading in a fixed ring: nothing is done
 * per request beyond what `/metrics` already counts.
 *
 * Event-loop delay comes from a monitor of its own rather than prom-client's
 * `nodejs_eventloop_lag_*`, because prom-client resets that histogram whenever it is scraped:
 * sharing it would make both readers see fragments.
 *
 * @example
 *   const history = createMetricsHistory(metrics)
 *   const { points } = await history.read()   // up to 360 points of 10 s
 */
export function createMetricsHistory(
  metrics: Metrics,
  options: MetricsHistoryOptions = {},
): MetricsHistory {
  const intervalMs = options.intervalMs ?? 10_000
  const capacity = options.capacity ?? 360
  const ring: MetricsPoint[] = []
  let head = 0
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 })
  loop.enable()
  let previous: Totals | undefined
  let sampling: Promise<void> | undefined

  async function readTotals(): Promise<Totals> {
    const { values } = await metrics.httpDuration.get()
    const buckets = new Map<number, number>()
    let count = 0
    let serverErrors = 0
    let clientErrors = 0
    for (const v of values) {
      const name = (v as { metricName?: string }).metricName ?? ''
      if (name.endsWith('_bucket')) {
        const bound = (v.labels as { le?: string | number }).le
        const le = bound === '+Inf' ? Infinity : Number(bound)
        buckets.set(le, (buckets.get(le) ?? 0) + v.value)
      } else if (name.endsWith('_count')) {
        count += v.value
        if (v.labels.status_class === '5xx') serverErrors += v.value
        else if (v.labels.status_class === '4xx') clientErrors += v.value
      }
    }
    const sorted = [...buckets.entries()].sort(([a], [b]) => a - b)
    return { at: Date.now(), count, serverErrors, clientErrors, buckets: sorted }
  }

  async function realtimeConnections(): Promise<number> {
    const gauge = metrics.registry.getSingleMetric('er_realtime_connections')
    if (!gauge) return 0
    const { values } = await gauge.get()
    return values.reduce((sum, v) => sum + v.value, 0)
  }

  async function pointSince(from: Totals | undefined, now: Totals): Promise<MetricsPoint> {
    const base = from ?? { at: now.at - intervalMs, count: 0, serverErrors: 0, clientErrors: 0 }
    const seconds = Math.max(0.001, (now.at - base.at) / 1000)
    const requests = now.count - base.count
    const serverErrors = now.serverErrors - base.serverErrors
    return {
      at: new Date(now.at).toISOString(),
      seconds: Math.round(seconds * 1000) / 1000,
      requests,
      requestsPerSecond: round(requests / seconds),
      p95Ms: percentileMs(from?.buckets ?? [], now.buckets, 0.95),
      serverErrors,
      errorRate: requests > 0 ? round(serverErrors / requests) : 0,
      clientErrors: now.clientErrors - base.clientErrors,
      // NaN until the monitor has seen a full resolution period.
      eventLoopLagP99Ms: round((Number(loop.percentile(99)) || 0) / 1e6),
      realtimeConnections: await realtimeConnections(),
    }
  }

  async function takeSample(): Promise<void> {
    const now = await readTotals()
    const point = await pointSince(previous, now)
    previous = now
    loop.reset()
    if (ring.length < capacity) ring.push(point)
    else {
      ring[head] = point
      head = (head + 1) % capacity
    }
  }

  // The first reading is the baseline: requests before it belong to no interval shown.
  sampling = readTotals().then((t) => void (previous = t))
  const timer = setInterval(() => {
    sampling = takeSample().catch(() => undefined)
  }, intervalMs)
  timer.unref()

  return {
    async read() {
      await sampling
      const points =
        ring.length < capacity ? [...ring] : [...ring.slice(head), ...ring.slice(0, head)]
      return {
        intervalSeconds: intervalMs / 1000,
        points,
        current: await pointSince(previous, await readTotals()),
      }
    },
    async sample() {
      await sampling
      sampling = takeSample()
      await sampling
    },
    stop() {
      clearInterval(timer)
      loop.disable()
    },
  }
}

/**
 * The `q` quantile of the observations between two cumulative bucket readings, interpolated
 * linearly inside the bucket it falls in (as Prometheus's `histogram_quantile` does); in the
 * `+Inf` bucket it is the largest finite bound. Null when nothing was observed.
 */
export function percentileMs(
  before: readonly [number, number][],
  after: readonly [number, number][],
  q: number,
): number | null {
  const prior = new Map(before)
  const deltas = after.map(([le, n]) => [le, n - (prior.get(le) ?? 0)] as const)
  const total = deltas.at(-1)?.[1] ?? 0
  if (total <= 0) return null
  const rank = q * total
  let lower = 0
  let below = 0
  for (const [le, cumulative] of deltas) {
    if (cumulative >= rank) {
      if (le === Infinity) return round(lower * 1000)
      const inBucket = cumulative - below
      const share = inBucket > 0 ? (rank - below) / inBucket : 1
      return round((lower + (le - lower) * share) * 1000)
    }
    lower = le
    below = cumulative
  }
  return round(lower * 1000)
}

const round = (n: number) => Math.round(n * 1000) / 1000
