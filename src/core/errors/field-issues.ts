import type { ErrorCode } from './codes.js'
import { EngineError, type FieldIssues } from './engine-error.js'

/** Adds one issue under `key`, keeping any already there. */
export function pushIssue(issues: FieldIssues, key: string, code: string, message: string): void {
  ;(issues[key] ??= []).push({ code, message })
}

/**
 * Throws `code` carrying every collected issue, with a detail that names the first one, so a
 * client can fix all fields in one round trip and a person reading the detail knows where to start.
 */
export function throwIfIssues(issues: FieldIssues, code: ErrorCode): void {
  const keys = Object.keys(issues)
  if (keys.length === 0) return
  const first = keys[0] as string
  const where = keys.length === 1 ? `"${first}"` : `${keys.length} fields, first "${first}"`
  throw new EngineError(code, `Invalid value for ${where}: ${issues[first]?.[0]?.message}.`, {
    errors: issues,
  })
}
