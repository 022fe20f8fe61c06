/**
 * The parent ↔ server-child protocol, shared by `engine-server.js` and `raw-floor.js`.
 *
 * parent → child: `{ type: 'start', ...options }` once, then `{ type: 'stats' }` or
 * `{ type: 'gc' }` at any time. child → parent: `{ type: 'ready', port, info }`,
 * `{ type: 'stats', cpu, rss }` and `{ type: 'failed', message }`.
 */

/** Runs `start(options)` when the parent says so and answers the parent's measuring requests. */
export function serveChild(start) {
  if (!process.send) throw new Error('Run this file through bench/run.js (it must be forked).')
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
      process.send({ type: 'stats', cpu: process.cpuUsage(), rss: process.memoryUsage.rss() })
    }
  })
}
