import { existsSync, statSync } from 'node:fs'
import type { Config } from '../config/config.js'

/**
 * A mistake in how the command was run (a path that is not there, a folder it cannot write):
 * printed as one line saying what to do next, never with a stack trace.
 */
export class CliError extends Error {
  override name = 'CliError'
}

/** The file a command reads; a clear error when it is missing or a folder. */
export function requireFile(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new CliError(
      `${what} ${path} does not exist. Check the path (relative to ${process.cwd()}).`,
    )
  }
  if (!statSync(path).isFile()) throw new CliError(`${what} ${path} is a folder, not a file.`)
}

/** A folder a command reads from (`migrate --from`). */
export function requireFolder(path: string, what: string): void {
  if (!existsSync(path)) {
    throw new CliError(
      `${what} ${path} does not exist. Check the path (relative to ${process.cwd()}).`,
    )
  }
  if (!statSync(path).isDirectory()) throw new CliError(`${what} ${path} is a file, not a folder.`)
}

/**
 * Commands other than `serve` and `migrate` work on a data directory that exists: a mistyped
 * `--dir` would otherwise create an empty database there and answer as if all were well
 * ("No superusers.", an empty schema). On PostgreSQL there is no directory to check.
 */
export function requireDataDir(config: Config): void {
  if (config.databaseUrl) return
  const dir = config.dataDir
  if (!existsSync(dir)) {
    throw new CliError(
      `no data directory at ${dir}. Check --dir (or ER_DIR); "engineroom serve --dir ${dir}" creates a new one.`,
    )
  }
  if (!statSync(dir).isDirectory()) {
    throw new CliError(`--dir ${dir} is a file, not a data directory. Check --dir (or ER_DIR).`)
  }
}

const FILE_SYSTEM_ADVICE: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOSPC: 'the disk is full',
  SQLITE_READONLY: 'the database or its folder is read-only',
  SQLITE_CANTOPEN: 'the database file cannot be opened',
  SQLITE_NOTADB: 'the file is not a SQLite database',
}

/**
 * One line for a file-system or SQLite error caused by where the command was pointed, or
 * undefined when the error is something else (then it is unexpected, and shown whole).
 */
export function describeFileSystemError(error: unknown): string | undefined {
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown }
  if (typeof code !== 'string') return undefined
  const reason = FILE_SYSTEM_ADVICE[code] ?? FILE_SYSTEM_ADVICE[code.replace(/_[A-Z]+$/, '')]
  if (!reason) return undefined
  const where = typeof path === 'string' ? ` at ${path}` : ''
  return `cannot use the data${where}: ${reason} (${code}). Check --dir (or ER_DIR) and that this user may write there.`
}
