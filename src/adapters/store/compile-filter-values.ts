import { normalizeDate } from '../../core/filter/normalize-date.js'
import type { CheckedRequestValue, OperandType } from '../../core/filter/check.js'

/** The request's macro values a compiled filter binds (`@now`, `@request.*`). */
export interface FilterValues {
  /** `@now`, ISO 8601 UTC. */
  now: string
  /** The signed-in record, `null` when anonymous (every `@request.auth.*` is then empty). */
  auth: Record<string, unknown> | null
  body: Record<string, unknown>
  query: Record<string, string>
  /** The stored record, for `:changed` (absent on create: every set key has changed). */
  stored?: Record<string, unknown>
}

const MISSING = Symbol('missing')

/**
 * Follows `path` through own properties only, so `@request.body.__proto__` or `.constructor`
 * read nothing rather than the prototype.
 */
export function digValue(root: unknown, path: readonly string[]): unknown {
  let current: unknown = root
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return MISSING
    if (!Object.hasOwn(current, key)) return MISSING
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** The JS value of a request operand after its modifier; arrays are multi-valued. */
export function readRequestValue(operand: CheckedRequestValue, values: FilterValues): unknown {
  const source =
    operand.source === 'auth' ? values.auth : operand.source === 'body' ? values.body : values.query
  const raw = source === null ? MISSING : digValue(source, operand.path)
  switch (operand.modifier) {
    case 'isset':
      return raw !== MISSING
    case 'changed':
      return raw !== MISSING && !isSameValue(raw, digValue(values.stored ?? {}, operand.path))
    case 'length':
      return Array.isArray(raw) ? raw.length : isEmptyValue(raw) ? 0 : 1
    case 'lower':
      return Array.isArray(raw) ? raw.map(lowerValue) : lowerValue(raw)
    case undefined:
      return raw === MISSING ? null : raw
  }
}

function lowerValue(value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase() : value
}

function isEmptyValue(value: unknown): boolean {
  return value === MISSING || value === null || value === undefined || value === ''
}

function isSameValue(a: unknown, b: unknown): boolean {
  const key = (value: unknown) => (isEmptyValue(value) ? 'null' : JSON.stringify(value))
  return key(a) === key(b)
}

/**
 * Converts a request value to the kind it is compared as, so both dialects see the same typed
 * parameter. A value that does not convert (`"abc"` for a number) becomes null: it matches no
 * ordering and counts as empty, instead of failing the query in PostgreSQL.
 */
export function coerceValue(value: unknown, type: OperandType): string | number | boolean | null {
  if (value === null || value === undefined || value === MISSING) return null
  switch (type) {
    case 'number':
      return toNumber(value)
    case 'bool':
      return toBool(value)
    case 'date':
      return typeof value === 'string' ? (normalizeDate(value) ?? null) : null
    default:
      if (typeof value === 'string') return value
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      return JSON.stringify(value)
  }
}

function toNumber(value: unknown): number | null {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN
  return Number.isFinite(number) ? number : null
}

function toBool(value: unknown): boolean | null {
  if (value === true || value === 'true' || value === 1 || value === '1') return true
  if (value === false || value === 'false' || value === 0 || value === '0') return false
  return null
}
