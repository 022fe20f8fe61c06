import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { Store } from '../../adapters/store/store.js'
import { applySchemaOperation, bumpSchemaVersion } from './apply-operation.js'
import { readMigrationFiles, type MigrationFile } from './migration-files.js'
import { readSchemaHistory } from './schema-history.js'
import { appendAuditAs } from '../audit/audit-log.js'

export interface MigrateProgress {
  name: string
  index: number
  total: number
  status: 'applied' | 'skipped'
}

/** One migration to apply: its name (`<timestamp>-<slug>`) and its operations. */
export interface NamedMigration {
  name: string
  migration: MigrationFile
}

/**
 * Applies, in the order given, every migration the database has not applied yet, each in its
 * own transaction under the schema lock (so nodes starting together on one PostgreSQL cannot
 * apply one twice). Each is recorded with its content, so the target's history in the database
 * reads the same as the source's. Returns the names applied.
 */
export async function applyMigrations(
  store: Store,
  migrations: NamedMigration[],
  clock: Clock,
  onProgress: (progress: MigrateProgress) => void = () => {},
  actor = 'system',
): Promise<string[]> {
  const applied: string[] = []
  for (const [index, { name, migration }] of migrations.entries()) {
    const done = await store.schemaTransaction(async (tx) => {
      if ((await tx.appliedMigrations()).includes(name)) return false
      for (const operation of migration.up) await applySchemaOperation(tx, operation)
      const now = clock.now()
      await tx.recordMigration(name, now.toISOString(), JSON.stringify(migration))
      // In the audit log in the same transaction, as done by `actor` (`cli` for the command).
      await appendAuditAs(
        tx,
        actor,
        {
          action: 'schema.migrate',
          target: name,
          detail: {
            operations: migration.up.map((o) => ({
              op: o.op,
              collection: 'collection' in o ? o.collection.name : o.to.name,
            })),
          },
        },
        clock,
      )
      await bumpSchemaVersion(tx, now)
      return true
    })
    if (done) applied.push(name)
    onProgress({ name, index, total: migrations.length, status: done ? 'applied' : 'skipped' })
  }
  return applied
}

/**
 * `engineroom migrate`: applies, in name order, every migration file of `dir` that the database
 * has not applied yet.
 */
export async function applyMigrationFiles(
  store: Store,
  dir: string,
  clock: Clock,
  onProgress?: (progress: MigrateProgress) => void,
  actor?: string,
): Promise<string[]> {
  return applyMigrations(store, readMigrationFiles(dir), clock, onProgress, actor)
}

/**
 * `engineroom migrate --from-database`: replays another database's schema history (the one
 * every node of that deployment sees) onto this one, no files needed. A change recorded there
 * without its content (applied before contents were kept) cannot be replayed: it is an error
 * naming it, before anything is applied.
 */
export async function applyMigrationsFromStore(
  store: Store,
  source: Store,
  clock: Clock,
  onProgress?: (progress: MigrateProgress) => void,
  actor?: string,
): Promise<string[]> {
  const history = await readSchemaHistory(source)
  const migrations: NamedMigration[] = []
  for (const entry of history) {
    if (entry.migration === null) {
      throw new EngineError(
        'ER_SCHEMA_INVALID',
        `Migration ${entry.name} of the source database has no recorded content; replay it from its file with --from.`,
      )
    }
    migrations.push({ name: entry.name, migration: entry.migration })
  }
  return applyMigrations(store, migrations, clock, onProgress, actor)
}
