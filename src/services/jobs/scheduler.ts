import { Cron } from 'croner'
import type { Store, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { invalidField } from '../../core/errors/index.js'

export interface SchedulerOptions {
  store: Store
  clock: Clock
  /** Queues the tick's job inside the claim's transaction. */
  enqueueTick(tx: StoreSession, schedule: string, tick: string): Promise<void>
  /** How often due ticks are looked for (default 1000 ms). */
  checkMs?: number
  onError?(error: unknown): void
}

interface Schedule {
  name: string
  pattern: string
  tz: string
  cron: Cron
  /** When this process added it (the first registration with this pattern counts). */
  added: string
  /** Since when ticks count, as recorded in the store. */
  since?: string
}

/**
 * The newest tick at or before `now`. croner's `previousRuns` leaves out ticks in the reference
 * instant's own second, so it is asked from a second later and later ticks are skipped.
 */
function latestTick(cron: Cron, now: Date): Date | undefined {
  return cron.previousRuns(2, new Date(now.getTime() + 1000)).find((d) => d <= now)
}

export type Scheduler = ReturnType<typeof createScheduler>

/**
 * Cron schedules (croner, with a time zone). Each node looks for due ticks; a tick runs when a
 * node claims it, and the claim is a row with a unique (schedule, tick) key written in the same
 * transaction as the tick's job: exactly one node or worker wins it, and the job exists exactly
 * when the claim does. Only the newest due tick is claimed, so after downtime a schedule that
 * missed several ticks runs once, not once per missed tick.
 */
export function createScheduler(options: SchedulerOptions) {
  const { store, clock } = options
  const schedules = new Map<string, Schedule>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<string[]> | undefined

  /**
   * Adds a schedule. Throws ER_VALIDATION_FAILED for a pattern or time zone croner refuses.
   *
   * @example
   *   scheduler.add('nightly', '0 3 * * *', 'Europe/Paris')
   */
  function add(name: string, pattern: string, tz = 'UTC'): void {
    let cron: Cron
    try {
      cron = new Cron(pattern, { timezone: tz, paused: true })
      cron.nextRun()
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      throw invalidField('cron', 'invalid', `schedule "${name}": ${reason}`)
    }
    schedules.set(name, { name, pattern, tz, cron, added: clock.now().toISOString() })
  }

  /** Claims and queues every schedule's newest due tick not claimed yet; returns the claims. */
  async function runDue(): Promise<string[]> {
    const claimed: string[] = []
    const now = clock.now()
    for (const schedule of schedules.values()) {
      schedule.since ??= await store.jobs.putSchedule(
        schedule.name,
        schedule.pattern,
        schedule.tz,
        schedule.added,
      )
      const latest = latestTick(schedule.cron, now)
      if (!latest) continue
      const tick = latest.toISOString()
      if (tick <= schedule.since) continue
      const last = await store.jobs.lastTick(schedule.name)
      if (last !== undefined && tick <= last) continue
      const won = await store.transaction(async (tx) => {
        if (!(await tx.jobs.claimTick(schedule.name, tick, now.toISOString()))) return false
        await options.enqueueTick(tx, schedule.name, tick)
        return true
      })
      if (won) claimed.push(`${schedule.name}@${tick}`)
    }
    return claimed
  }

  function check(): void {
    if (running) return
    running = runDue()
      .catch((error: unknown) => {
        options.onError?.(error)
        return []
      })
      .finally(() => {
        running = undefined
      })
  }

  return {
    add,
    runDue,
    list: () => [...schedules.values()].map(({ name, pattern, tz }) => ({ name, pattern, tz })),
    start() {
      if (timer) return
      timer = setInterval(check, options.checkMs ?? 1000)
      timer.unref()
      check()
    },
    async stop() {
      clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
