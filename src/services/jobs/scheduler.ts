import { Cron } from 'croner'
import type { JobScheduleRow, Store, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { invalidField } from '../../core/errors/index.js'

export interface SchedulerOptions {
  store: Store
  clock: Clock
  /** Queues the tick's job of a schedule declared in code, inside the claim's transaction. */
  enqueueTick(tx: StoreSession, schedule: string, tick: string): Promise<void>
  /** Queues the tick's job of a schedule from the admin API, inside the claim's transaction. */
  enqueueStoredTick(tx: StoreSession, schedule: JobScheduleRow, tick: string): Promise<void>
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

/** The prefix of a stored schedule's claims in `_schedule_ticks` (code schedules use names). */
export const STORED_SCHEDULE_PREFIX = 'api:'
/** How many stored schedules a node looks at. */
export const MAX_STORED_SCHEDULES = 1000

/**
 * Checks a cron pattern and time zone as croner reads them; the error names the field at fault
 * (`tz` for a zone the runtime does not know, else `cron`).
 */
export function compileCron(pattern: string, tz: string, what: string): Cron {
  // UTC (the default, and the retention schedule every server registers) is a fixed offset of
  // 0: croner's `utcOffset` computes it without Intl. Any Intl.DateTimeFormat makes the process
  // read about 5 MB of ICU data from the node binary into its RSS, and keeps it there.
  const zone = tz === 'UTC' ? { utcOffset: 0 } : { timezone: tz }
  if (tz !== 'UTC') {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz })
    } catch {
      throw invalidField('tz', 'invalid', `${what}: "${tz}" is not a known IANA time zone`)
    }
  }
  try {
    const cron = new Cron(pattern, { ...zone, paused: true })
    cron.nextRun()
    return cron
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw invalidField('cron', 'invalid', `${what}: ${reason}`)
  }
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
 * Cron schedules (croner, with a time zone): those declared in code (`er.cron`) and those stored
 * through the admin API (`_job_schedules`, read at every check). Each node looks for due ticks; a tick runs when a
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
    const cron = compileCron(pattern, tz, `schedule "${name}"`)
    schedules.set(name, { name, pattern, tz, cron, added: clock.now().toISOString() })
  }

  /** Compiled patterns of stored schedules, by id (recompiled when the pattern changes). */
  const compiled = new Map<string, { key: string; cron: Cron }>()
  function cronOf(row: JobScheduleRow): Cron | undefined {
    const key = `${row.cron}\n${row.tz}`
    const known = compiled.get(row.id)
    if (known?.key === key) return known.cron
    try {
      const cron = compileCron(row.cron, row.tz, row.name)
      compiled.set(row.id, { key, cron })
      return cron
    } catch (error) {
      // Checked when saved; a runtime without that zone any more skips it, visibly.
      options.onError?.(error)
      return undefined
    }
  }

  /**
   * Claims the newest due tick of `key` after `since`, queueing its job in the claim's
   * transaction; true when this caller won it.
   */
  async function claim(
    key: string,
    cron: Cron,
    since: string,
    now: Date,
    enqueue: (tx: StoreSession, tick: string) => Promise<void>,
  ): Promise<string | undefined> {
    const latest = latestTick(cron, now)
    if (!latest) return undefined
    const tick = latest.toISOString()
    if (tick <= since) return undefined
    const last = await store.jobs.lastTick(key)
    if (last !== undefined && tick <= last) return undefined
    const won = await store.transaction(async (tx) => {
      if (!(await tx.jobs.claimTick(key, tick, now.toISOString()))) return false
      await enqueue(tx, tick)
      return true
    })
    return won ? tick : undefined
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
      const tick = await claim(schedule.name, schedule.cron, schedule.since, now, (tx, t) =>
        options.enqueueTick(tx, schedule.name, t),
      )
      if (tick) claimed.push(`${schedule.name}@${tick}`)
    }
    // Schedules from the admin API, read each time so a change on any node counts at once.
    const stored = await store.jobs.listJobSchedules(MAX_STORED_SCHEDULES)
    for (const row of stored) {
      if (!row.enabled) continue
      const cron = cronOf(row)
      if (!cron) continue
      const key = `${STORED_SCHEDULE_PREFIX}${row.id}`
      const tick = await claim(key, cron, row.since, now, (tx, t) =>
        options.enqueueStoredTick(tx, row, t),
      )
      if (tick) claimed.push(`${key}@${tick}`)
    }
    for (const id of compiled.keys()) if (!stored.some((r) => r.id === id)) compiled.delete(id)
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
