import { Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { FastHistogram } from './fast-histogram.js'

const BUCKETS = [0.001, 0.01, 0.1, 1]
const LABELS = ['method', 'route', 'status_class'] as const
const options = { help: 'test', labelNames: LABELS, buckets: BUCKETS }

/** The same observations through prom-client's Histogram and ours, each in its own registry. */
function both() {
  const theirs = new Registry()
  const ours = new Registry()
  const reference = new Histogram({ ...options, name: 'h', registers: [theirs] })
  const fast = new FastHistogram({ ...options, name: 'h', registers: [ours] })
  return {
    theirs,
    ours,
    fast,
    observe(labels: Record<(typeof LABELS)[number], string>, value: number) {
      reference.observe(labels, value)
      fast.observe(labels, value)
    },
  }
}

describe('FastHistogram', () => {
  it("writes the same exposition as prom-client's Histogram", async () => {
    const h = both()
    // Values on, below, between and above the bounds; two series; a label needing escapes.
    const values = [0, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.99, 1, 1.5, 30]
    for (const value of values)
      h.observe({ method: 'GET', route: '/a', status_class: '2xx' }, value)
    h.observe({ method: 'POST', route: '/b/"quoted"\\\n', status_class: '5xx' }, 0.002)
    expect(await h.ours.metrics()).toBe(await h.theirs.metrics())
  })

  it("gives prom-client's get() shape: cumulative buckets, +Inf, sum and count", async () => {
    const h = both()
    for (const value of [0.0005, 0.05, 2]) {
      h.observe({ method: 'GET', route: '/a', status_class: '2xx' }, value)
    }
    const { values } = await h.fast.get()
    const bucket = (le: number | string) =>
      values.find((v) => v.metricName === 'h_bucket' && v.labels.le === le)?.value
    expect([0.001, 0.01, 0.1, 1, '+Inf'].map(bucket)).toEqual([1, 1, 2, 2, 3])
    expect(values.find((v) => v.metricName === 'h_count')?.value).toBe(3)
    expect(values.find((v) => v.metricName === 'h_sum')?.value).toBeCloseTo(2.0505)
  })

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const h = both()
    expect(() => h.fast.observe({ method: 'GET', route: '/', status_class: '2xx' }, NaN)).toThrow(
      TypeError,
    )
  })
})
