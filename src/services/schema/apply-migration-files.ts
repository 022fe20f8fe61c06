import type { Clock } from '../../core/clock.js'
import type { Store } from '../../adapters/store/store.js'
import { applySchemaOperation, bumpSchemaVersion } from './apply-operation.js'
import { readMigrationFiles } from './migration-files.js'
import { appendAuditAs } from '../audit/audit-log.js'

export interface MigrateProgress {
  name: string
  index: number
  total: number
  status: 'applied' | 'skipped'
}

/**
 * `engineroom migrate`: applies, in name order, every migration file the database has not
 * applied yet, each in its own transaction under the schema lock (so nodes starting together on
 * one PostgreSQL cannot apply one twice), recorded in the audit log in that transaction as
 * done by `actor` (`cli` for `engineroom migrate`). Returns the names applied.
 */
export async function applyMigrationFiles(
  store: Store,
  dir: string,
  clock: Clock,
  onProgress: (progress: MigrateProgress) => void = () => {},
  actor = 'system',
): Promise<string[]> {
  const files = readMigrationFiles(dir)
  const applied: string[] = []
  for (const [index, { name, migration }] of files.entries()) {
    const done = await store.schemaTransaction(async (tx) => {
      if ((await tx.appliedMigrations()).includes(name)) return false
      for (const operation of migration.up) await applySchemaOperation(tx, operation)
      const now = clock.now()
      await tx.recordMigration(name, now.toISOString())
      await appendAuditAs(tx, actor, {
        action: 'schema.migrate',
        target: name,
        detail: {
          operations: migration.up.map((o) => ({
            op: o.op,
            collection: 'collection' in o ? o.collection.name : o.to.name,
          })),
        },
      })
      await bumpSchemaVersion(tx, now)
      return true
    })
    if (done) applied.push(name)
    onProgress({ name, index, total: files.length, status: done ? 'applied' : 'skipped' })
  }
  return applied
}
