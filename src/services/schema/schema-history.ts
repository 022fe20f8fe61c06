import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { EngineError } from '../../core/errors/index.js'
import type { Store } from '../../adapters/store/store.js'
import {
  MIGRATION_FILE_PATTERN,
  readMigrationFiles,
  writeMigrationFile,
  type MigrationFile,
} from './migration-files.js'

/** One applied schema change as the database remembers it. */
export interface SchemaHistoryEntry {
  name: string
  applied: string
  /** Its operations; null when it was applied before contents were kept and never filled in. */
  migration: MigrationFile | null
}

/**
 * The schema history kept in the database (`_migrations`), oldest first. The same on every node
 * of a deployment: the node that made a change is the only one with its file on disk, but every
 * node reads this.
 */
export async function readSchemaHistory(store: Store): Promise<SchemaHistoryEntry[]> {
  const rows = await store.migrationHistory()
  return rows.map((row) => ({
    name: row.name,
    applied: row.applied,
    migration: row.content === null ? null : parseContent(row.name, row.content),
  }))
}

export interface HistoryExport {
  /** Files written (they were missing). */
  written: string[]
  /** Files already there with the same content. */
  unchanged: string[]
  /** Files already there with another content: left alone, the caller reports them. */
  differing: string[]
  /** Changes whose content the database does not have (applied before it was kept). */
  withoutContent: string[]
}

/**
 * `engineroom schema history --export <dir>`: the history as migration files, for git. A file
 * that exists with another content is never overwritten (released migrations are not edited;
 * the difference is for a person to look at).
 */
export async function exportSchemaHistory(store: Store, dir: string): Promise<HistoryExport> {
  const result: HistoryExport = { written: [], unchanged: [], differing: [], withoutContent: [] }
  const onDisk = new Map(readMigrationFiles(dir).map((f) => [f.name, f.migration]))
  for (const entry of await readSchemaHistory(store)) {
    if (entry.migration === null) {
      result.withoutContent.push(entry.name)
      continue
    }
    const existing = onDisk.get(entry.name)
    if (existing === undefined) {
      writeMigrationFile(dir, entry.name, entry.migration)
      result.written.push(entry.name)
    } else if (JSON.stringify(existing) === JSON.stringify(entry.migration)) {
      result.unchanged.push(entry.name)
    } else {
      result.differing.push(entry.name)
    }
  }
  return result
}

/**
 * On start: a change recorded before contents were kept gets its content from this node's
 * migration file of the same name, when it has one (the node that made the change does). One
 * read of `_migrations` when nothing is missing.
 */
export async function fillHistoryFromFiles(store: Store, dir: string): Promise<string[]> {
  const filled: string[] = []
  for (const row of await store.migrationHistory()) {
    if (row.content !== null || !MIGRATION_FILE_PATTERN.test(row.name)) continue
    const path = join(dir, row.name)
    if (!existsSync(path)) continue
    let migration: MigrationFile
    try {
      migration = parseContent(row.name, readFileSync(path, 'utf8'))
    } catch {
      // A damaged file stays a gap in the history rather than a failed start.
      continue
    }
    if (await store.fillMigrationContent(row.name, JSON.stringify(migration))) filled.push(row.name)
  }
  return filled
}

function parseContent(name: string, text: string): MigrationFile {
  let migration: MigrationFile
  try {
    migration = JSON.parse(text) as MigrationFile
  } catch (error) {
    throw new EngineError(
      'ER_SCHEMA_INVALID',
      `Migration ${name} is not valid JSON: ${(error as Error).message}`,
    )
  }
  if (!Array.isArray(migration?.up)) {
    throw new EngineError('ER_SCHEMA_INVALID', `Migration ${name} has no "up" list of operations.`)
  }
  return migration
}
