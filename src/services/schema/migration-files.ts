import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'

/**
 * One schema change, dialect-neutral: it names definitions, not SQL, so the same file replays on
 * SQLite or PostgreSQL. `up` applies it; `down` undoes it.
 *
 * @example
 *   { "up": [{ "op": "createCollection", "collection": { "name": "posts", … } }],
 *     "down": [{ "op": "deleteCollection", "collection": { "name": "posts", … } }] }
 */
export type SchemaOperation =
  | { op: 'createCollection'; collection: CollectionDef }
  | { op: 'updateCollection'; from: CollectionDef; to: CollectionDef }
  | { op: 'deleteCollection'; collection: CollectionDef }

export interface MigrationFile {
  up: SchemaOperation[]
  down: SchemaOperation[]
}

export const MIGRATION_FILE_PATTERN = /^(\d{14})-([a-z0-9-]{1,80})\.json$/

/** `<yyyymmddhhmmss>-<slug>.json`, later than `after` (the newest name already taken). */
export function nextMigrationName(now: Date, slug: string, after: string | undefined): string {
  let stamp = now.toISOString().replace(/\D/g, '').slice(0, 14)
  const previous = after ? MIGRATION_FILE_PATTERN.exec(after)?.[1] : undefined
  // Two changes in one second (or a clock behind the last file) must still sort in order.
  if (previous && stamp <= previous) stamp = String(BigInt(previous) + 1n)
  const safeSlug =
    slug
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 80) || 'change'
  return `${stamp}-${safeSlug}.json`
}

/** Writes the file atomically (temporary file, then rename), so a crash leaves no half file. */
export function writeMigrationFile(dir: string, name: string, migration: MigrationFile): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  const temporary = `${path}.tmp-${process.pid}`
  writeFileSync(temporary, JSON.stringify(migration, null, 2) + '\n', { mode: 0o644 })
  renameSync(temporary, path)
  return path
}

export function removeMigrationFile(dir: string, name: string): void {
  rmSync(join(dir, name), { force: true })
}

/** The migration files of a folder in name order; a malformed file is an error naming it. */
export function readMigrationFiles(dir: string): { name: string; migration: MigrationFile }[] {
  let names: string[]
  try {
    names = readdirSync(dir)
      .filter((n) => MIGRATION_FILE_PATTERN.test(n))
      .sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return names.map((name) => {
    let migration: MigrationFile
    try {
      migration = JSON.parse(readFileSync(join(dir, name), 'utf8')) as MigrationFile
    } catch (error) {
      throw new EngineError(
        'ER_SCHEMA_INVALID',
        `Migration ${name} is not valid JSON: ${(error as Error).message}`,
      )
    }
    if (!Array.isArray(migration.up)) {
      throw new EngineError(
        'ER_SCHEMA_INVALID',
        `Migration ${name} has no "up" list of operations.`,
      )
    }
    return { name, migration }
  })
}
