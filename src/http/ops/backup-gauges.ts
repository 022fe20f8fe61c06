import { Gauge } from 'prom-client'
import type { BackupsService } from '../../services/backups/backups-service.js'
import type { Metrics } from './metrics.js'

/**
 * Backup gauges, read when Prometheus scrapes, for the backups this process took:
 * - `er_backup_runs{outcome="verified"|"failed"}`: runs since start by outcome;
 * - `er_backup_last_verified_timestamp_seconds`: when the last verified backup ended (0: never)
 *   — alert when `time() - it` exceeds the schedule's period;
 * - `er_backup_last_size_bytes`, `er_backup_last_duration_seconds`: the last run's.
 */
export function registerBackupGauges(metrics: Metrics, backups: BackupsService): void {
  if (metrics.registry.getSingleMetric('er_backup_runs')) return
  const registers = [metrics.registry]
  new Gauge({
    name: 'er_backup_runs',
    help: 'Backups taken by this process since it started, by outcome (verified, failed).',
    labelNames: ['outcome'] as const,
    registers,
    collect() {
      const totals = backups.totals()
      this.set({ outcome: 'verified' }, totals.verified)
      this.set({ outcome: 'failed' }, totals.failed)
    },
  })
  new Gauge({
    name: 'er_backup_last_verified_timestamp_seconds',
    help: 'When the last backup that verified ended (Unix seconds; 0 if none yet).',
    registers,
    collect() {
      this.set(backups.totals().lastVerifiedAt / 1000)
    },
  })
  new Gauge({
    name: 'er_backup_last_size_bytes',
    help: 'Size of the last backup archive.',
    registers,
    collect() {
      this.set(backups.lastRun()?.size ?? 0)
    },
  })
  new Gauge({
    name: 'er_backup_last_duration_seconds',
    help: 'How long the last backup took, verification included.',
    registers,
    collect() {
      this.set((backups.lastRun()?.durationMs ?? 0) / 1000)
    },
  })
}
