/**
 * Clean-ups that must run even when a run is interrupted: a scenario that creates a database,
 * Redis keys or processes registers how to undo them here, and unregisters once it has undone
 * them itself. `process.on('exit')` cannot wait for a `drop database`, so the signal handlers of
 * `run.js` (and of a scenario run alone) await `runTeardowns()` before exiting.
 */
const pending = new Set()

/** Registers `undo` (async); returns the function that unregisters it. */
export function onTeardown(undo) {
  pending.add(undo)
  return () => pending.delete(undo)
}

/** Runs every registered clean-up once, at most `timeoutMs` in all (a dead server must not hang it). */
export async function runTeardowns(timeoutMs = 15_000) {
  const all = [...pending]
  pending.clear()
  let timer
  const expired = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))
  await Promise.race([Promise.allSettled(all.map((undo) => undo())), expired])
  clearTimeout(timer)
}

/** For a scenario file run alone: on SIGINT or SIGTERM, clean up, then exit with 130. */
export function exitOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: cleaning up.`)
      void runTeardowns().finally(() => process.exit(130))
    })
  }
}
