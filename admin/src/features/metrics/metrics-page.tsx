import { useEffect, useState } from 'react'
import { api, ApiProblem } from '../../lib/api'
import { LineChart } from './line-chart'

/** A point of `GET /api/admin/metrics` (see src/http/ops/metrics-history.ts on the server). */
interface MetricsPoint {
  at: string
  seconds: number
  requests: number
  requestsPerSecond: number
  p95Ms: number | null
  serverErrors: number
  errorRate: number
  clientErrors: number
  eventLoopLagP99Ms: number
  realtimeConnections: number
}

interface MetricsAnswer {
  intervalSeconds: number
  points: MetricsPoint[]
  current: MetricsPoint
}

const HOUR = 3600_000

/** The five charts, in the order shown; each picks its value from a point (null: no data). */
const CHARTS: {
  id: string
  title: string
  unit: string
  pick: (p: MetricsPoint) => number | null
}[] = [
  {
    id: 'chart-rps',
    title: 'Requests per second',
    unit: 'req/s',
    pick: (p) => p.requestsPerSecond,
  },
  { id: 'chart-p95', title: 'p95 latency', unit: 'ms', pick: (p) => p.p95Ms },
  {
    id: 'chart-errors',
    title: 'Error rate (5xx)',
    unit: '%',
    pick: (p) => (p.requests > 0 ? p.errorRate * 100 : null),
  },
  { id: 'chart-lag', title: 'Event-loop lag (p99)', unit: 'ms', pick: (p) => p.eventLoopLagP99Ms },
  {
    id: 'chart-realtime',
    title: 'Realtime connections',
    unit: '',
    pick: (p) => p.realtimeConnections,
  },
]

/**
 * The last hour of the server's own metrics (the process that answers), refreshed every
 * sampling interval. The rightmost point is the interval under way, so traffic shows at once.
 */
export function MetricsPage() {
  const [data, setData] = useState<MetricsAnswer | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      try {
        const answer = await api<MetricsAnswer>('GET', '/api/admin/metrics')
        if (stopped) return
        setData(answer)
        setError(null)
        timer = setTimeout(() => void load(), answer.intervalSeconds * 1000)
      } catch (caught) {
        if (stopped) return
        setError(caught instanceof ApiProblem ? caught.message : String(caught))
        timer = setTimeout(() => void load(), 10_000)
      }
    }
    void load()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [])

  const points = data ? [...data.points, data.current] : []
  const to = data ? Date.parse(data.current.at) : Date.now()
  const from = to - HOUR
  const series = (pick: (p: MetricsPoint) => number | null) => ({
    points: points.map((p) => ({ t: Date.parse(p.at), v: pick(p) })),
  })
  const recent = points.filter((p) => Date.parse(p.at) >= from)
  const requests = recent.reduce((n, p) => n + p.requests, 0)
  const serverErrors = recent.reduce((n, p) => n + p.serverErrors, 0)

  return (
    <section aria-labelledby="metrics-title">
      <header className="bar">
        <h1 id="metrics-title">Metrics</h1>
        <a className="button secondary" href="#/logs">
          Logs
        </a>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <dl className="stats" aria-live="polite">
        <div>
          <dt>Requests, last hour</dt>
          <dd data-testid="requests-hour">{data ? requests : '…'}</dd>
        </div>
        <div>
          <dt>Server errors, last hour</dt>
          <dd data-testid="errors-hour">{data ? serverErrors : '…'}</dd>
        </div>
        <div>
          <dt>Sampled every</dt>
          <dd>{data ? `${data.intervalSeconds} s` : '…'}</dd>
        </div>
      </dl>
      {data && data.points.length === 0 && (
        <p className="empty">
          The first sample is taken {data.intervalSeconds} s after the server starts; until then the
          charts show the interval under way.
        </p>
      )}
      <div className="charts">
        {CHARTS.map((chart) => (
          <LineChart
            key={chart.id}
            id={chart.id}
            title={chart.title}
            unit={chart.unit}
            series={series(chart.pick)}
            from={from}
            to={to}
          />
        ))}
      </div>
    </section>
  )
}
