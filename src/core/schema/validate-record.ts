import { EngineError, type FieldIssues } from '../errors/index.js'
import { pushIssue, throwIfIssues } from '../errors/field-issues.js'
import { CLIENT_ID_PATTERN } from '../ids.js'
import type { CollectionDef, FieldDef } from './types.js'
import { isEmptyValue, validateFieldValue } from './validate-value.js'

/** Keys a client may send back from a record it read; they are ignored rather than rejected. */
const READ_ONLY_KEYS = new Set(['created', 'updated', 'expand', 'collectionName', 'collectionId'])

/** Input checked and converted to storage form, plus the auth secrets the service must hash. */
export interface RecordInput {
  id?: string
  values: Record<string, unknown>
  /** Plain password for auth collections; the service hashes it, it is never stored as sent. */
  password?: string
  /** On update of an auth record: the current password, which a non-superuser must prove. */
  oldPassword?: string
}

export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 256

/**
 * Checks a create body against the collection: unknown keys, types, constraints, required
 * fields, defaults. Every problem is reported at once, keyed by field name.
 *
 * @example
 *   validateCreateInput(posts, { title: '' })
 *   // throws ER_VALIDATION_FAILED with errors { title: [{ code: 'required', … }] }
 */
export function validateCreateInput(collection: CollectionDef, body: unknown): RecordInput {
  const raw = requireObject(body)
  const issues: FieldIssues = {}
  const input = readCommon(collection, raw, issues)
  if (raw.id !== undefined) {
    if (typeof raw.id !== 'string' || !CLIENT_ID_PATTERN.test(raw.id)) {
      pushIssue(issues, 'id', 'pattern', 'must be 1-64 letters, digits, _ or -')
    } else input.id = raw.id
  }
  for (const field of collection.fields) {
    if (field.type === 'autodate') continue
    if (!(field.name in input.values) && 'default' in field && field.default !== undefined) {
      const result = validateFieldValue(field, field.default)
      if (result.ok) input.values[field.name] = result.value
    }
    if (issues[field.name]) continue
    if (field.required && field.type !== 'bool' && isEmptyValue(input.values[field.name])) {
      pushIssue(issues, field.name, 'required', 'is required')
    }
    if (field.required && field.type === 'bool' && input.values[field.name] === undefined) {
      pushIssue(issues, field.name, 'required', 'is required')
    }
  }
  if (collection.type === 'auth') {
    if (isEmptyValue(input.values.email) && !issues.email)
      pushIssue(issues, 'email', 'required', 'is required')
    if (input.password === undefined && !issues.password)
      pushIssue(issues, 'password', 'required', 'is required')
    if (input.password !== undefined && passwordEqualsEmail(input.password, input.values.email))
      pushIssue(issues, 'password', 'equals_email', 'must not be the e-mail address')
  }
  throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  return input
}

/** Checks a partial update body; only the keys present change, and required ones may not be emptied. */
export function validateUpdateInput(
  collection: CollectionDef,
  body: unknown,
  currentId: string,
): RecordInput {
  const { oldPassword, ...raw } = requireObject(body)
  const issues: FieldIssues = {}
  const input = readCommon(collection, raw, issues)
  if (oldPassword !== undefined) {
    if (collection.type !== 'auth')
      pushIssue(issues, 'oldPassword', 'unknown', `is not a field of "${collection.name}"`)
    else if (typeof oldPassword !== 'string' || oldPassword === '')
      pushIssue(issues, 'oldPassword', 'type', 'must be the current password')
    else if (oldPassword.length > PASSWORD_MAX)
      pushIssue(issues, 'oldPassword', 'max', `must be at most ${PASSWORD_MAX} characters`)
    else if (raw.password === undefined)
      pushIssue(issues, 'oldPassword', 'unexpected', 'is sent only with a new password')
    else input.oldPassword = oldPassword
  }
  if (raw.id !== undefined && raw.id !== currentId)
    pushIssue(issues, 'id', 'readonly', 'cannot be changed')
  for (const field of collection.fields) {
    if (
      field.required &&
      field.name in input.values &&
      isEmptyValue(input.values[field.name]) &&
      field.type !== 'bool'
    ) {
      pushIssue(issues, field.name, 'required', 'is required and cannot be emptied')
    }
  }
  throwIfIssues(issues, 'ER_VALIDATION_FAILED')
  return input
}

/**
 * Password policy beyond length: a password equal to the account's e-mail (ignoring case) is
 * the first guess of any attacker. On update the service passes the stored e-mail.
 */
export function passwordEqualsEmail(password: string, email: unknown): boolean {
  return typeof email === 'string' && password.toLowerCase() === email.toLowerCase()
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EngineError('ER_VALIDATION_FAILED', 'The request body must be a JSON object.', {
      errors: { body: [{ code: 'type', message: 'must be a JSON object' }] },
    })
  }
  return body as Record<string, unknown>
}

function readCommon(
  collection: CollectionDef,
  raw: Record<string, unknown>,
  issues: FieldIssues,
): RecordInput {
  const byName = new Map<string, FieldDef>(collection.fields.map((f) => [f.name, f]))
  const input: RecordInput = { values: {} }
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'id' || READ_ONLY_KEYS.has(key)) continue
    if (collection.type === 'auth' && readAuthKey(key, value, input, issues)) continue
    const field = byName.get(key)
    if (!field) {
      pushIssue(issues, key, 'unknown', `is not a field of "${collection.name}"`)
      continue
    }
    if (field.type === 'autodate') continue
    const result = validateFieldValue(field, value)
    if (result.ok) input.values[key] = result.value
    else (issues[key] ??= []).push(result.issue)
  }
  return input
}

/** email, password and verified of auth collections; returns false for any other key. */
function readAuthKey(
  key: string,
  value: unknown,
  input: RecordInput,
  issues: FieldIssues,
): boolean {
  if (key === 'email') {
    const result = validateFieldValue({ id: 'email', name: 'email', type: 'email' }, value)
    if (result.ok)
      input.values.email =
        typeof result.value === 'string' ? result.value.toLowerCase() : result.value
    else (issues.email ??= []).push(result.issue)
    return true
  }
  if (key === 'password') {
    if (typeof value !== 'string') pushIssue(issues, key, 'type', 'must be a string')
    else if ([...value].length < PASSWORD_MIN)
      pushIssue(issues, key, 'min', `must be at least ${PASSWORD_MIN} characters`)
    else if (value.length > PASSWORD_MAX)
      pushIssue(issues, key, 'max', `must be at most ${PASSWORD_MAX} characters`)
    else input.password = value
    return true
  }
  if (key === 'verified') {
    if (typeof value !== 'boolean') pushIssue(issues, key, 'type', 'must be true or false')
    else input.values.verified = value
    return true
  }
  if (key === 'tokenKey') {
    pushIssue(issues, key, 'readonly', 'is managed by the server')
    return true
  }
  return false
}
