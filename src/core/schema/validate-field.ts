import { normalizeInstant } from '../clock.js'
import type { FieldIssues } from '../errors/index.js'
import { newShortId } from '../ids.js'
import { checkFileOptions } from './file-field.js'
import { NAME_PATTERN } from './names.js'
import type { FieldDef, FieldType } from './types.js'

const FIELD_TYPES: readonly FieldType[] = [
  'text',
  'number',
  'bool',
  'date',
  'email',
  'url',
  'select',
  'json',
  'relation',
  'autodate',
  'file',
]

const COMMON_KEYS = ['id', 'name', 'type', 'required', 'unique', 'hidden', 'protected', 'personal']
/** The options each field type accepts beyond the common ones; anything else is a typo to report. */
const TYPE_KEYS: Record<FieldType, string[]> = {
  text: ['min', 'max', 'pattern', 'default'],
  number: ['min', 'max', 'integer', 'default'],
  bool: ['default'],
  date: ['min', 'max', 'default'],
  email: ['max', 'default'],
  url: ['max', 'default'],
  select: ['values', 'maxSelect', 'minSelect', 'default'],
  json: ['maxSize', 'default'],
  relation: ['collection', 'maxSelect', 'minSelect', 'onDelete'],
  autodate: ['onCreate', 'onUpdate'],
  file: ['maxSelect', 'maxSize', 'mimeTypes', 'thumbs'],
}

export const MAX_SELECT_LIMIT = 1000
export const MAX_SELECT_VALUES = 1000
export const MAX_PATTERN_LENGTH = 512

/**
 * Checks one field definition from user input and returns it normalised (id assigned, defaults
 * filled). Problems are added to `issues` under `fields.<index>.<option>`; returns undefined then.
 */
export function validateFieldDef(
  input: unknown,
  path: string,
  issues: FieldIssues,
): FieldDef | undefined {
  const add = (key: string, code: string, message: string) =>
    (issues[key ? `${path}.${key}` : path] ??= []).push({ code, message })
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    add('', 'type', 'must be an object')
    return undefined
  }
  const raw = input as Record<string, unknown>
  const type = raw.type as FieldType
  if (!FIELD_TYPES.includes(type)) {
    add('type', 'enum', `must be one of ${FIELD_TYPES.join(', ')}`)
    return undefined
  }
  const before = Object.keys(issues).length
  for (const key of Object.keys(raw)) {
    if (!COMMON_KEYS.includes(key) && !TYPE_KEYS[type].includes(key)) {
      add(key, 'unknown', `is not an option of ${type} fields`)
    }
  }
  if (typeof raw.name !== 'string' || !NAME_PATTERN.test(raw.name)) {
    add('name', 'pattern', 'must be a letter or _ followed by letters, digits or _ (at most 63)')
  }
  if (
    raw.id !== undefined &&
    (typeof raw.id !== 'string' || !/^[A-Za-z0-9_]{1,32}$/.test(raw.id))
  ) {
    add('id', 'pattern', 'must be 1-32 letters, digits or _')
  }
  for (const flag of [
    'required',
    'unique',
    'hidden',
    'protected',
    'personal',
    'integer',
    'onCreate',
    'onUpdate',
  ]) {
    if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean')
      add(flag, 'type', 'must be true or false')
  }
  checkBounds(raw, type, add)
  checkTypeOptions(raw, type, add)
  if (type === 'file') checkFileOptions(raw, add)
  if (Object.keys(issues).length > before) return undefined

  const field = { ...raw, id: (raw.id as string | undefined) ?? newShortId('f') } as FieldDef
  if (field.type === 'relation') field.onDelete ??= 'setNull'
  return field
}

type AddIssue = (key: string, code: string, message: string) => void

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function checkBounds(raw: Record<string, unknown>, type: FieldType, add: AddIssue): void {
  const { min, max } = raw
  if (type === 'number') {
    for (const [key, value] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
        add(key, 'type', 'must be a finite number')
      }
    }
  } else if (type === 'date') {
    for (const [key, value] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || !normalizeInstant(value))) {
        add(key, 'type', 'must be an ISO 8601 date')
      }
    }
  } else {
    for (const [key, value] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (value !== undefined && !isNonNegativeInteger(value))
        add(key, 'type', 'must be a whole number ≥ 0')
    }
  }
  if (
    min !== undefined &&
    max !== undefined &&
    typeof min === typeof max &&
    (min as number) > (max as number)
  ) {
    add('max', 'range', 'must not be less than min')
  }
}

function checkTypeOptions(raw: Record<string, unknown>, type: FieldType, add: AddIssue): void {
  if (type === 'text' && raw.pattern !== undefined) {
    if (typeof raw.pattern !== 'string' || raw.pattern.length > MAX_PATTERN_LENGTH) {
      add(
        'pattern',
        'type',
        `must be a regular expression of at most ${MAX_PATTERN_LENGTH} characters`,
      )
    } else {
      try {
        new RegExp(raw.pattern, 'u')
      } catch {
        add('pattern', 'regex', 'is not a valid regular expression')
      }
    }
  }
  if (type === 'select') {
    const values = raw.values
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      values.length > MAX_SELECT_VALUES ||
      values.some((v) => typeof v !== 'string' || v === '' || v.length > 255)
    ) {
      add('values', 'type', `must be 1-${MAX_SELECT_VALUES} non-empty strings`)
    } else if (values.some((v: string) => !v.isWellFormed() || v.includes('\u0000'))) {
      // As record text: PostgreSQL cannot hold NUL, and stores a lone surrogate as U+FFFD, so a
      // record would read back a value that is not one of these.
      add('values', 'encoding', 'must be well-formed Unicode without the NUL character')
    } else if (new Set(values).size !== values.length) {
      add('values', 'unique', 'must not repeat a value')
    }
  }
  if (type === 'select' || type === 'relation') {
    for (const key of ['maxSelect', 'minSelect']) {
      const value = raw[key]
      if (
        value !== undefined &&
        (!isNonNegativeInteger(value) ||
          value > MAX_SELECT_LIMIT ||
          (key === 'maxSelect' && value < 1))
      ) {
        add(
          key,
          'range',
          `must be a whole number from ${key === 'maxSelect' ? 1 : 0} to ${MAX_SELECT_LIMIT}`,
        )
      }
    }
  }
  if (type === 'relation') {
    if (typeof raw.collection !== 'string' || raw.collection === '')
      add('collection', 'required', 'must name a collection')
    if (
      raw.onDelete !== undefined &&
      !['cascade', 'restrict', 'setNull'].includes(raw.onDelete as string)
    ) {
      add('onDelete', 'enum', 'must be cascade, restrict or setNull')
    }
  }
  if (
    type === 'json' &&
    raw.maxSize !== undefined &&
    (!isNonNegativeInteger(raw.maxSize) || raw.maxSize < 2)
  ) {
    add('maxSize', 'range', 'must be a whole number of bytes ≥ 2')
  }
  if (type === 'autodate' && raw.onCreate !== true && raw.onUpdate !== true) {
    add('onCreate', 'required', 'an autodate field must be set on create, on update, or both')
  }
  if ((type === 'relation' || type === 'autodate' || type === 'file') && raw.unique === true) {
    add('unique', 'unsupported', `${type} fields cannot be unique`)
  }
  if (raw.unique === true && raw.hidden === true && raw.protected !== true) {
    add('unique', 'hidden_unique', HIDDEN_UNIQUE_MESSAGE)
  }
}

/**
 * A unique value of a hidden field is an oracle: whoever may write the field learns from the
 * 409 whether some record they cannot see holds a value. Protected (superuser-only) writes close it.
 */
export const HIDDEN_UNIQUE_MESSAGE =
  'a hidden field may be unique only if it is also protected: otherwise any writer learns from the conflict whether another record holds a value'
