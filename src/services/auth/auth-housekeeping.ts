import type { Clock } from '../../core/clock.js'
import type { Store } from '../../adapters/store/store.js'

export interface HousekeepingOptions {
  store: Store
  clock: Clock
  /** How often to sweep (default 10 minutes); 0 turns the timer off (`run` still works). */
  intervalMs?: number
  /** Revoked sessions stay listed this long before they go (default 7 days). */
  keepRevokedMs?: number
  /** Throttle counters with no failure for this long go (the throttle's own forget time). */
  forgetThrottleMs: number
  onError?: (error: unknown) => void
}

const DAY_MS = 24 * 3600 * 1000

/**
 * Keeps the auth tables from growing without end: sign-ins, password resets and failed logins
 * each leave rows that nothing reads once they have expired. Each node sweeps on its own timer;
 * the deletes are idempotent, so nodes sharing a database need no coordination.
 *
 * @example
 *   const housekeeping = startAuthHousekeeping({ store, clock, forgetThrottleMs: 3_600_000 })
 *   await housekeeping.stop()
 */
export function startAuthHousekeeping(options: HousekeepingOptions) {
  const intervalMs = options.intervalMs ?? 10 * 60 * 1000
  let running: Promise<unknown> | undefined

  async function run() {
    const now = options.clock.now().getTime()
    return options.store.auth.purgeExpired({
      now: new Date(now).toISOString(),
      revokedBefore: new Date(now - (options.keepRevokedMs ?? 7 * DAY_MS)).toISOString(),
      quietBefore: new Date(now - options.forgetThrottleMs).toISOString(),
    })
  }

  const timer =
    intervalMs > 0
      ? setInterval(() => {
          running ??= run()
            .catch((error: unknown) => options.onError?.(error))
            .finally(() => (running = undefined))
        }, intervalMs)
      : undefined
  // A sweep never keeps the process alive on its own.
  timer?.unref()

  return {
    /** One sweep now; resolves with what it deleted. */
    run,
    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      await running
    },
  }
}

export type AuthHousekeeping = ReturnType<typeof startAuthHousekeeping>
