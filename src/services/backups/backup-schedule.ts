import { Cron } from 'croner'
import type { Store } from '../../adapters/store/store.js'
import { systemClock, type Clock } from '../../core/clock.js'
import { appendAuditAs } from '../audit/audit-log.js'
import type { BackupRun, BackupsService } from './backups-service.js'

export interface BackupScheduleOptions {
  /** Cron expression, read in UTC (`0 3 * * *`: every day at 03:00 UTC). */
  pattern: string
  backups: Pick<BackupsService, 'takeVerified'>
  /**
   * Claims one tick for this node: true for exactly one of the nodes sharing the database
   * (several nodes, or `serve --workers`), so each tick takes one backup.
   */
  claim(tick: string): Promise<boolean>
  onRun(run: BackupRun): void
  /** Where each run this node takes is recorded in the audit log, as `system`. */
  store?: Pick<Store, 'transaction'>
  /** The time of those audit entries: the engine's clock (default the system's). */
  clock?: Clock
}

/**
 * Takes a verified backup at every tick of `pattern` (see `takeVerified`): the result goes to
 * `onRun` (logs and metrics), a failure never stops the schedule.
 *
 * @example
 *   const schedule = startBackupSchedule({ pattern: '0 3 * * *', backups, claim, onRun: log })
 *   schedule.stop()
 */
export function startBackupSchedule(options: BackupScheduleOptions): { stop(): void } {
  const job = new Cron(options.pattern, { timezone: 'UTC', protect: true }, async (self: Cron) => {
    // The scheduled second: the same key on every node for the same tick.
    const tick = (self.currentRun() ?? new Date()).toISOString().slice(0, 19)
    try {
      if (!(await options.claim(tick))) return
    } catch (error) {
      options.onRun({
        started: new Date().toISOString(),
        durationMs: 0,
        size: 0,
        verified: false,
        pruned: [],
        error: `could not claim the tick: ${(error as Error).message}`,
      })
      return
    }
    const run = await options.backups.takeVerified()
    if (options.store) {
      await options.store
        .transaction((tx) =>
          appendAuditAs(
            tx,
            'system',
            {
              action: 'backup.create',
              target: run.name ?? `(failed at ${tick})`,
              detail: {
                scheduled: tick,
                verified: run.verified,
                size: run.size,
                pruned: run.pruned,
                ...(run.error ? { error: run.error.slice(0, 500) } : {}),
              },
            },
            options.clock ?? systemClock,
          ),
        )
        .catch((error: unknown) => {
          run.error ??= `could not record it in the audit log: ${(error as Error).message}`
        })
    }
    options.onRun(run)
  })
  return { stop: () => job.stop() }
}
