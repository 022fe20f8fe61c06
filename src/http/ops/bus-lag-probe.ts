import { randomBytes } from 'node:crypto'
import { Counter, Gauge } from 'prom-client'
import type { Bus } from '../../adapters/bus/bus.js'
import type { Metrics } from './metrics.js'

const PROBE_CHANNEL = 'bus-probe'

/**
 * Measures the bus as realtime events and schema announcements travel it: every `intervalMs`
 * this node publishes a probe and times its return through the bus (one clock, so nodes' clock
 * skew plays no part).
 * - `er_bus_lag_seconds`: the last probe's round trip; while a probe is out, at least its age,
 *   so a stalled bus shows a growing lag rather than the last good figure;
 * - `er_bus_probes_lost_total`: probes that had not returned when the next one left.
 * One small message per interval per node; nothing on the request path.
 */
export async function startBusLagProbe(
  bus: Bus,
  metrics: Metrics,
  intervalMs = 5000,
): Promise<{ stop(): Promise<void> }> {
  const node = randomBytes(6).toString('base64url')
  let sequence = 0
  let outstanding: { sequence: number; sentAt: number } | undefined
  let lastLag = 0
  new Gauge({
    name: 'er_bus_lag_seconds',
    help: 'Round trip of the last probe through the bus (at least the age of one still out).',
    registers: [metrics.registry],
    collect() {
      const waiting = outstanding ? (performance.now() - outstanding.sentAt) / 1000 : 0
      this.set(Math.max(lastLag, waiting))
    },
  })
  const lost = new Counter({
    name: 'er_bus_probes_lost_total',
    help: 'Bus probes that had not come back when the next one was sent.',
    registers: [metrics.registry],
  })
  const unsubscribe = await bus.subscribe(PROBE_CHANNEL, (message) => {
    const [from, seq] = message.split(':')
    if (from !== node || !outstanding || Number(seq) !== outstanding.sequence) return
    lastLag = (performance.now() - outstanding.sentAt) / 1000
    outstanding = undefined
  })
  const send = () => {
    if (outstanding) lost.inc()
    outstanding = { sequence: ++sequence, sentAt: performance.now() }
    // A failed publish is a lost probe: the lag shown grows until one comes back.
    bus.publish(PROBE_CHANNEL, `${node}:${outstanding.sequence}`).catch(() => {})
  }
  send()
  const timer = setInterval(send, intervalMs)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await unsubscribe()
    },
  }
}
