import type { SnapshotFacts } from '../../adapters/snapshots/snapshots.js'
import { EngineError } from '../../core/errors/index.js'

/** One entry of the archive with its size and SHA-256 (hex). */
export interface ManifestPart {
  path: string
  size: number
  sha256: string
}

/**
 * `manifest.json`, the last entry of every archive: what the snapshot holds, and the size and
 * SHA-256 of every other entry. `verify` and `restore` check the archive against it.
 *
 * @example
 *   { "format": "engineroom-backup", "version": 1, "created": "2026-12-03T11:00:00.000Z",
 *     "database": { "dialect": "sqlite" }, "lastEventId": 1041, "schemaVersion": "…",
 *     "systemMigrations": ["20261128000000-system-tables", …],
 *     "tables": { "posts": { "rows": 120 }, … },   (PostgreSQL adds a "checksum" per table)
 *     "parts": [{ "path": "database/data.db", "size": 4096, "sha256": "…" }, …],
 *     "files": { "count": 3, "bytes": 52011, "missing": [] } }
 */
export interface BackupManifest extends SnapshotFacts {
  format: 'engineroom-backup'
  version: 1
  created: string
  database: Record<string, string> & { dialect: 'sqlite' | 'postgres' }
  parts: ManifestPart[]
  files: {
    count: number
    bytes: number
    /** Files the snapshot lists whose blob was gone when it was copied (deleted meanwhile). */
    missing: string[]
    /** Files whose stored bytes no longer match the SHA-256 recorded at upload. */
    mismatched: string[]
  }
}

export const MANIFEST_PATH = 'manifest.json'
/** A manifest lists every file; past this it is not one of ours. */
export const MANIFEST_MAX_BYTES = 256 * 1024 * 1024

/** Parses and checks the shape of `manifest.json`; anything else is a damaged archive. */
export function parseManifest(text: string): BackupManifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw damaged('its manifest is not JSON')
  }
  const m = value as Partial<BackupManifest> | null
  if (!m || m.format !== 'engineroom-backup') throw damaged('it has no Engine Room manifest')
  if (m.version !== 1) throw damaged(`its manifest has an unknown version (${String(m.version)})`)
  const ok =
    typeof m.created === 'string' &&
    typeof m.database?.dialect === 'string' &&
    Array.isArray(m.parts) &&
    m.parts.every(
      (p) =>
        typeof p?.path === 'string' &&
        Number.isSafeInteger(p.size) &&
        /^[0-9a-f]{64}$/.test(p.sha256),
    ) &&
    typeof m.tables === 'object' &&
    m.tables !== null &&
    Number.isSafeInteger(m.lastEventId) &&
    typeof m.schemaVersion === 'string' &&
    Array.isArray(m.systemMigrations) &&
    typeof m.files?.count === 'number'
  if (!ok) throw damaged('its manifest is incomplete')
  return m as BackupManifest
}

function damaged(reason: string): EngineError {
  return new EngineError(
    'ER_BACKUP_CORRUPT',
    `The archive is damaged: ${reason}. Nothing was restored; use another copy.`,
  )
}

/** Differences between what a restored database holds and what the manifest says it held. */
export function compareFacts(manifest: SnapshotFacts, found: SnapshotFacts): string[] {
  const problems: string[] = []
  const names = new Set([...Object.keys(manifest.tables), ...Object.keys(found.tables)])
  for (const name of [...names].sort()) {
    const want = manifest.tables[name]
    const got = found.tables[name]
    if (!want) problems.push(`table "${name}" is not in the manifest`)
    else if (!got) problems.push(`table "${name}" is missing`)
    else if (want.rows !== got.rows)
      problems.push(`"${name}" has ${got.rows} rows, not ${want.rows}`)
    // Older SQLite archives carry checksums a restore no longer computes (the file's SHA-256
    // covers them); compared wherever both sides have one.
    else if (
      want.checksum !== undefined &&
      got.checksum !== undefined &&
      want.checksum !== got.checksum
    )
      problems.push(`"${name}" rows differ (checksum)`)
  }
  if (manifest.lastEventId !== found.lastEventId) {
    problems.push(`the last event is ${found.lastEventId}, not ${manifest.lastEventId}`)
  }
  if (manifest.schemaVersion !== found.schemaVersion) problems.push('the schema version differs')
  if (manifest.systemMigrations.join() !== found.systemMigrations.join()) {
    problems.push('the applied system migrations differ')
  }
  return problems
}
