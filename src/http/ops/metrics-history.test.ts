import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.js'
import { createMetricsHistory, percentileMs, type MetricsHistory } from './metrics-history.js'

const observe = (
  metrics: ReturnType<typeof createMetrics>,
  statusClass: string,
  seconds: number,
  times = 1,
) => {
  for (let i = 0; i < times; i++) {
    metrics.httpDuration.observe(
      { method: 'GET', route: '/api/x', status_class: statusClass },
      seconds,
    )
  }
}

describe('metrics history', () => {
  let history: MetricsHistory | undefined
  afterEach(() => history?.stop())

  it('keeps per-interval differences: rate, 5xx share, 4xx count and p95', async () => {
    const metrics = createMetrics()
    observe(metrics, '2xx', 0.001, 50) // before the baseline: in no interval
    history = createMetricsHistory(metrics, { intervalMs: 60_000 })
    await history.read()
    observe(metrics, '2xx', 0.003, 90)
    observe(metrics, '4xx', 0.003, 5)
    observe(metrics, '5xx', 0.2, 5)
    await history.sample()
    const { points, current } = await history.read()
    expect(points).toHaveLength(1)
    const [point] = points
    expect(point?.requests).toBe(100)
    expect(point?.serverErrors).toBe(5)
    expect(point?.clientErrors).toBe(5)
    expect(point?.errorRate).toBe(0.05)
    // 95 of 100 at 3 ms (bucket 2.5-5 ms): the 95th falls at the top of that bucket.
    expect(point?.p95Ms).toBe(5)
    expect(point?.requestsPerSecond).toBeGreaterThan(0)
    expect(current.requests).toBe(0)
    expect(current.p95Ms).toBeNull()
  })

  it('is a ring: the oldest points go first, the order stays oldest first', async () => {
    const metrics = createMetrics()
    history = createMetricsHistory(metrics, { intervalMs: 60_000, capacity: 3 })
    for (let i = 1; i <= 5; i++) {
      observe(metrics, '2xx', 0.01, i)
      await history.sample()
    }
    const { points } = await history.read()
    expect(points.map((p) => p.requests)).toEqual([3, 4, 5])
  })

  it('samples on its timer, without anyone asking', async () => {
    const metrics = createMetrics()
    history = createMetricsHistory(metrics, { intervalMs: 50 })
    observe(metrics, '2xx', 0.01, 7)
    await expect
      .poll(async () => (await history!.read()).points.reduce((n, p) => n + p.requests, 0))
      .toBe(7)
  })
})

describe('percentileMs', () => {
  const le = (pairs: [number, number][]) => pairs
  it('interpolates inside the bucket the rank falls in', () => {
    const after = le([
      [0.01, 50],
      [0.1, 100],
      [Infinity, 100],
    ])
    // rank 95 of 100: 45 of the 50 in (10 ms, 100 ms].
    expect(percentileMs([], after, 0.95)).toBe(91)
  })
  it('subtracts the reading before, and says null when nothing happened', () => {
    const before = le([
      [0.01, 10],
      [Infinity, 10],
    ])
    expect(percentileMs(before, before, 0.95)).toBeNull()
    const after = le([
      [0.01, 10],
      [Infinity, 20],
    ])
    expect(percentileMs(before, after, 0.5)).toBe(10)
  })
})
