import type { Store } from '../../adapters/store/store.js'
import { pruneAudit } from '../audit/audit-log.js'
import type { JobsService } from '../jobs/jobs-service.js'
import {
  applyRecordRetention,
  type RetentionDeps,
  type RetentionSummary,
} from './privacy-retention.js'

/** `ER_RETENTION_SCHEDULE` and `ER_AUDIT_KEEP_DAYS`. */
export interface RetentionSettings {
  /** Cron expression, UTC (default in config: hourly, `0 * * * *`). */
  schedule: string
  /** Audit rows older than this many days are pruned (behind an anchor); absent: kept for ever. */
  auditKeepDays?: number | undefined
}

/** The cron schedule's name: system schedules start with `_`, so no extension's can clash. */
export const RETENTION_SCHEDULE = '_retention'

/**
 * Registers the retention run on the job scheduler: at each tick, exactly one node (the one
 * whose claim of the tick commits, see jobs/scheduler.ts) applies every collection's
 * `retention` and prunes the audit log. `onRun` reports what it did (logs).
 *
 * @example
 *   scheduleRetention(engine.jobs, { registry, records, clock }, store, { schedule: '0 * * * *', auditKeepDays: 365 })
 */
export function scheduleRetention(
  jobs: Pick<JobsService, 'schedule'>,
  deps: RetentionDeps,
  store: Pick<Store, 'transaction'>,
  settings: RetentionSettings,
  onRun: (result: {
    records: RetentionSummary
    auditPruned: number
    tick: string
  }) => void = () => {},
): void {
  jobs.schedule(RETENTION_SCHEDULE, settings.schedule, async ({ tick }) => {
    const records = await applyRecordRetention(deps)
    let auditPruned = 0
    if (settings.auditKeepDays !== undefined) {
      const cutoff = deps.clock.now().getTime() - settings.auditKeepDays * 86_400_000
      auditPruned = await pruneAudit(store, new Date(cutoff).toISOString(), deps.clock)
    }
    onRun({ records, auditPruned, tick })
  })
}
