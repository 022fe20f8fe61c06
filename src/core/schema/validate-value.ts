import { normalizeInstant } from '../clock.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.js'
import type { FieldIssue } from '../errors/index.js'
import { isMultiValued } from './field-info.js'
import { FILE_NAME_PATTERN } from './file-field.js'
import type { FieldDef } from './types.js'

/** Limits that hold when a field sets none, so no value is unbounded. */
export const DEFAULT_TEXT_MAX = 100_000
export const DEFAULT_EMAIL_MAX = 254
export const DEFAULT_URL_MAX = 2048
export const DEFAULT_JSON_MAX_SIZE = 1024 * 1024

const EMAIL_PATTERN = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/

export type ValueResult = { ok: true; value: unknown } | { ok: false; issue: FieldIssue }

const fail = (code: string, message: string): ValueResult => ({
  ok: false,
  issue: { code, message },
})
const ok = (value: unknown): ValueResult => ({ ok: true, value })

/** True for the values a field treats as "not set": null, '', []. */
export function isEmptyValue(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  )
}

/**
 * Checks one input value against its field and returns it in storage form: text trimmed of
 * nothing but normalised to null when empty, dates as ISO UTC, multi-valued as string arrays.
 * `required` is the caller's concern; this only sees a value that is present.
 *
 * @example
 *   validateFieldValue({ id: 'f1', name: 'views', type: 'number', min: 0 }, -1)
 *   // → { ok: false, issue: { code: 'min', message: 'must be at least 0' } }
 */
export function validateFieldValue(field: FieldDef, value: unknown): ValueResult {
  if (value === null || value === undefined)
    return ok(field.type === 'bool' ? false : emptyOf(field))
  switch (field.type) {
    case 'text':
      return validateText(field.min, field.max ?? DEFAULT_TEXT_MAX, field.pattern, value)
    case 'email': {
      const result = validateText(undefined, field.max ?? DEFAULT_EMAIL_MAX, undefined, value)
      if (!result.ok || result.value === null) return result
      return EMAIL_PATTERN.test(result.value as string)
        ? result
        : fail('email', 'must be an e-mail address')
    }
    case 'url': {
      const result = validateText(undefined, field.max ?? DEFAULT_URL_MAX, undefined, value)
      if (!result.ok || result.value === null) return result
      return isHttpUrl(result.value as string)
        ? result
        : fail('url', 'must be an http or https URL')
    }
    case 'number':
      return validateNumber(field, value)
    case 'bool':
      return typeof value === 'boolean' ? ok(value) : fail('type', 'must be true or false')
    case 'date':
      return validateDate(field.min, field.max, value)
    case 'select':
      return validateSelection(
        field,
        value,
        (v) => field.values.includes(v),
        'must be one of the allowed values',
      )
    case 'relation':
      return validateSelection(
        field,
        value,
        (v) => /^[A-Za-z0-9_-]{1,64}$/.test(v),
        'must be a record id',
      )
    case 'json':
      return validateJson(field.maxSize ?? DEFAULT_JSON_MAX_SIZE, value)
    case 'autodate':
      return fail('readonly', 'is set by the server')
    case 'file':
      return validateSelection(
        field,
        value,
        (v) => FILE_NAME_PATTERN.test(v),
        'must be the name of a file of this record',
      )
  }
}

function emptyOf(field: FieldDef): unknown {
  return isMultiValued(field) ? [] : null
}

function validateText(
  min: number | undefined,
  max: number,
  pattern: string | undefined,
  value: unknown,
): ValueResult {
  if (typeof value !== 'string') return fail('type', 'must be a string')
  if (value === '') return ok(null)
  if (!value.isWellFormed()) return fail('encoding', 'must be well-formed Unicode')
  // PostgreSQL text cannot hold NUL; refusing it on every dialect keeps them answering alike.
  if (value.includes('\u0000')) return fail('encoding', 'must not contain the NUL character')
  // Lengths count code points, as a person would count characters.
  const length = value.length > max * 2 ? value.length : [...value].length
  if (min !== undefined && length < min) return fail('min', `must be at least ${min} characters`)
  if (length > max) return fail('max', `must be at most ${max} characters`)
  if (pattern !== undefined && !new RegExp(pattern, 'u').test(value))
    return fail('pattern', `must match ${pattern}`)
  return ok(value)
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

function validateNumber(field: Extract<FieldDef, { type: 'number' }>, value: unknown): ValueResult {
  if (typeof value !== 'number' || !Number.isFinite(value))
    return fail('type', 'must be a finite number')
  if (field.integer && !Number.isSafeInteger(value))
    return fail('integer', 'must be a whole number')
  if (field.min !== undefined && value < field.min)
    return fail('min', `must be at least ${field.min}`)
  if (field.max !== undefined && value > field.max)
    return fail('max', `must be at most ${field.max}`)
  return ok(value)
}

function validateDate(
  min: string | undefined,
  max: string | undefined,
  value: unknown,
): ValueResult {
  if (typeof value !== 'string') return fail('type', 'must be an ISO 8601 date string')
  if (value === '') return ok(null)
  const instant = normalizeInstant(value)
  if (instant === undefined)
    return fail('date', 'must be an ISO 8601 date such as 2026-01-31T12:00:00Z')
  if (min !== undefined && instant < (normalizeInstant(min) ?? min))
    return fail('min', `must not be before ${min}`)
  if (max !== undefined && instant > (normalizeInstant(max) ?? max))
    return fail('max', `must not be after ${max}`)
  return ok(instant)
}

function validateSelection(
  field: Extract<FieldDef, { type: 'select' | 'relation' | 'file' }>,
  value: unknown,
  isAllowed: (v: string) => boolean,
  notAllowed: string,
): ValueResult {
  const maxSelect = field.maxSelect ?? 1
  if (maxSelect === 1) {
    if (Array.isArray(value)) {
      if (value.length > 1) return fail('maxSelect', 'takes a single value')
      return validateSelection(field, value[0] ?? null, isAllowed, notAllowed)
    }
    if (typeof value !== 'string') return fail('type', 'must be a string')
    if (value === '') return ok(null)
    return isAllowed(value) ? ok(value) : fail('value', notAllowed)
  }
  const values = typeof value === 'string' ? (value === '' ? [] : [value]) : value
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
    return fail('type', 'must be an array of strings')
  }
  const unique = [...new Set(values as string[])]
  if (unique.length > maxSelect) return fail('maxSelect', `must have at most ${maxSelect} values`)
  const minSelect = field.type === 'file' ? undefined : field.minSelect
  if (minSelect !== undefined && unique.length > 0 && unique.length < minSelect) {
    return fail('minSelect', `must have at least ${minSelect} values`)
  }
  const bad = unique.find((v) => !isAllowed(v))
  if (bad !== undefined)
    return fail(
      'value',
      `${JSON.stringify(bad.slice(0, 64))} ${notAllowed.replace(/^must/, 'must')}`,
    )
  return ok(unique)
}

function validateJson(maxSize: number, value: unknown): ValueResult {
  if (nestsDeeperThan(value, MAX_JSON_DEPTH))
    return fail('depth', `must nest at most ${MAX_JSON_DEPTH} levels deep`)
  const text = JSON.stringify(value)
  if (Buffer.byteLength(text) > maxSize)
    return fail('maxSize', `must serialise to at most ${maxSize} bytes`)
  return ok(value)
}
