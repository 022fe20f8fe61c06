/**
 * The parent ↔ server-child protocol, shared by `engine-server.js` and `raw-floor.js`.
 *
 * parent → child: `{ type: 'start', ...options }` once, then `{ type: 'stats' }` or
 * `{ type: 'gc' }` at any time. child → parent: `{ type: 'ready', port, info }`,
 * `{ type: 'stats', cpu, rss, gcMs }` and `{ type: 'failed', message }`.
 */
import { PerformanceObserver } from 'node:perf_hooks'

/** Runs `start(options)` when the parent says so and answers the parent's measuring requests. */
export function serveChild(start) {
  if (!process.send) throw new Error('Run this file through bench/run.js (it must be forked).')
  // Time in garbage collection (pauses of the main thread), as a running total: the parent takes
  // the difference over a measured run. Pending entries are taken when asked, not when delivered.
  let gcMs = 0
  const addGc = (entries) => {
    for (const entry of entries) gcMs += entry.duration
  }
  const gcObserver = new PerformanceObserver((list) => addGc(list.getEntries()))
  gcObserver.observe({ entryTypes: ['gc'] })
  // An orphaned server must never outlive the benchmark, whatever happened to the parent.
  process.on('disconnect', () => process.exit(0))
  // An orderly exit on the parent's SIGTERM, so that `--cpu-prof` gets to write its profile.
  process.on('SIGTERM', () => process.exit(0))
  process.on('message', (message) => {
    if (message.type === 'start') {
      start(message).then(
        ({ port, info }) => process.send({ type: 'ready', port, info }),
        (error) => {
          process.send({ type: 'failed', message: error?.stack ?? String(error) })
          process.exitCode = 1
          process.disconnect()
        },
      )
    } else if (message.type === 'gc') {
      globalThis.gc?.()
      process.send({ type: 'gc' })
    } else if (message.type === 'stats') {
      addGc(gcObserver.takeRecords())
      const stats = { cpu: process.cpuUsage(), rss: process.memoryUsage.rss(), gcMs }
      process.send({ type: 'stats', ...stats })
    }
  })
}
