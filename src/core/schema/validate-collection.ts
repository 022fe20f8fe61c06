import { EngineError, type FieldIssues } from '../errors/index.js'
import { pushIssue, throwIfIssues } from '../errors/field-issues.js'
import { newShortId } from '../ids.js'
import { NAME_PATTERN, reservedFieldNames, sameName } from './names.js'
import { HIDDEN_UNIQUE_MESSAGE } from './validate-field.js'
import {
  BASE_SYSTEM_FIELDS,
  AUTH_SYSTEM_FIELDS,
  RULE_NAMES,
  type CollectionDef,
  type CollectionRules,
  type CollectionType,
  type FieldDef,
  type IndexDef,
  type RecordRetention,
} from './types.js'
import { validateFieldDef } from './validate-field.js'
import { validateFieldValue } from './validate-value.js'

export const MAX_FIELDS = 200
export const MAX_INDEXES = 64
export const MAX_RULE_LENGTH = 4096

const COLLECTION_KEYS = [
  'id',
  'name',
  'type',
  'fields',
  'indexes',
  'rules',
  'retention',
  'system',
  'created',
  'updated',
]

/**
 * Turns a `POST /api/collections` body into a complete definition, or throws ER_SCHEMA_INVALID
 * with every problem keyed by its path (`fields.2.max`). Rules are only checked for shape here;
 * the schema service checks them against the live schema.
 *
 * @example
 *   validateNewCollection({ name: 'posts', fields: [{ name: 'title', type: 'text' }] }, now)
 */
export function validateNewCollection(body: unknown, now: string): CollectionDef {
  const raw = requireObject(body)
  const issues: FieldIssues = {}
  checkKeys(raw, issues)
  const type = (raw.type ?? 'base') as CollectionType
  if (type !== 'base' && type !== 'auth') pushIssue(issues, 'type', 'enum', 'must be base or auth')
  const name = checkCollectionName(raw.name, issues)
  const fields = readFields(raw.fields ?? [], type, [], issues)
  const collectionId =
    typeof raw.id === 'string' && /^[A-Za-z0-9_]{1,32}$/.test(raw.id) ? raw.id : newShortId('c')
  const indexes = readIndexes(raw.indexes ?? [], collectionId, type, fields, issues)
  const rules = readRules(
    raw.rules,
    { list: null, view: null, create: null, update: null, delete: null },
    issues,
  )
  const retention = readRetention(raw.retention, undefined, fields, issues)
  throwIfIssues(issues, 'ER_SCHEMA_INVALID')
  return {
    id: collectionId,
    name,
    type,
    system: false,
    fields,
    indexes,
    rules,
    ...(retention ? { retention } : {}),
    created: now,
    updated: now,
  }
}

/**
 * Applies a `PATCH /api/collections/{name}` body to the current definition. `fields`, when sent,
 * is the whole new list: a field keeps its data when it carries its old `id` (a rename when the
 * name differs) or, without an id, its old name; fields left out are dropped.
 */
export function validateCollectionPatch(
  current: CollectionDef,
  body: unknown,
  now: string,
): CollectionDef {
  const raw = requireObject(body)
  const issues: FieldIssues = {}
  checkKeys(raw, issues)
  if (raw.type !== undefined && raw.type !== current.type)
    pushIssue(issues, 'type', 'readonly', 'cannot be changed')
  if (raw.id !== undefined && raw.id !== current.id)
    pushIssue(issues, 'id', 'readonly', 'cannot be changed')
  const name = raw.name === undefined ? current.name : checkCollectionName(raw.name, issues)
  if (current.system && name !== current.name)
    pushIssue(issues, 'name', 'readonly', 'a system collection cannot be renamed')
  const fields =
    raw.fields === undefined
      ? current.fields
      : readFields(raw.fields, current.type, current.fields, issues)
  const indexes =
    raw.indexes === undefined
      ? current.indexes.filter((index) =>
          index.fields.every((f) => hasField(current.type, fields, f)),
        )
      : readIndexes(raw.indexes, current.id, current.type, fields, issues)
  const rules = readRules(raw.rules, current.rules, issues)
  const retention = readRetention(raw.retention, current.retention, fields, issues)
  throwIfIssues(issues, 'ER_SCHEMA_INVALID')
  const { retention: _previous, ...rest } = current
  return {
    ...rest,
    name,
    fields,
    indexes,
    rules,
    ...(retention ? { retention } : {}),
    updated: now,
  }
}

/** Days a retention may name: up to a century. */
export const MAX_RETENTION_DAYS = 36_500

/** `retention`: absent keeps `current`, `null` removes it. */
function readRetention(
  input: unknown,
  current: RecordRetention | undefined,
  fields: readonly FieldDef[],
  issues: FieldIssues,
): RecordRetention | undefined {
  if (input === undefined) return current
  if (input === null) return undefined
  if (typeof input !== 'object' || Array.isArray(input)) {
    pushIssue(issues, 'retention', 'type', 'must be null or an object with days and action')
    return current
  }
  const raw = input as Record<string, unknown>
  for (const key of Object.keys(raw)) {
    if (key !== 'days' && key !== 'action')
      pushIssue(issues, `retention.${key}`, 'unknown', 'must be days or action')
  }
  const days = raw.days
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)
    pushIssue(
      issues,
      'retention.days',
      'range',
      `must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}`,
    )
  const action = raw.action
  if (action !== 'delete' && action !== 'anonymize')
    pushIssue(issues, 'retention.action', 'enum', 'must be delete or anonymize')
  else if (action === 'anonymize' && !fields.some((f) => f.personal))
    pushIssue(
      issues,
      'retention.action',
      'personal',
      'anonymize empties the personal fields, and this collection has none (mark fields "personal": true)',
    )
  return { days: days as number, action: action as RecordRetention['action'] }
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EngineError('ER_SCHEMA_INVALID', 'The collection definition must be a JSON object.', {
      errors: { body: [{ code: 'type', message: 'must be a JSON object' }] },
    })
  }
  return body as Record<string, unknown>
}

function checkKeys(raw: Record<string, unknown>, issues: FieldIssues): void {
  for (const key of Object.keys(raw)) {
    if (!COLLECTION_KEYS.includes(key))
      pushIssue(issues, key, 'unknown', 'is not a collection option')
  }
}

function checkCollectionName(name: unknown, issues: FieldIssues): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    pushIssue(
      issues,
      'name',
      'pattern',
      'must be a letter or _ followed by letters, digits or _ (at most 63)',
    )
    return ''
  }
  // Names starting with _ belong to the engine (_superusers, _collections …).
  if (name.startsWith('_'))
    pushIssue(issues, 'name', 'reserved', 'names starting with _ are reserved for the engine')
  return name
}

function readFields(
  input: unknown,
  type: CollectionType,
  previous: FieldDef[],
  issues: FieldIssues,
): FieldDef[] {
  if (!Array.isArray(input) || input.length > MAX_FIELDS) {
    pushIssue(issues, 'fields', 'type', `must be an array of at most ${MAX_FIELDS} fields`)
    return []
  }
  const reserved = reservedFieldNames(type)
  const fields: FieldDef[] = []
  input.forEach((item: unknown, index) => {
    const path = `fields.${index}`
    const sent = item as Partial<FieldDef> | null
    // Match the field to its previous self so it keeps its id (and data) across the change.
    const before =
      typeof sent?.id === 'string'
        ? previous.find((f) => f.id === sent.id)
        : previous.find((f) => typeof sent?.name === 'string' && f.name === sent.name)
    const field = validateFieldDef(
      before && sent && sent.id === undefined ? { ...sent, id: before.id } : item,
      path,
      issues,
    )
    if (!field) return
    if ([...reserved].some((r) => sameName(r, field.name))) {
      pushIssue(issues, `${path}.name`, 'reserved', `"${field.name}" is a system field name`)
    } else if (fields.some((f) => sameName(f.name, field.name))) {
      pushIssue(issues, `${path}.name`, 'unique', `another field is named "${field.name}"`)
    } else if (fields.some((f) => f.id === field.id)) {
      pushIssue(issues, `${path}.id`, 'unique', `another field has the id "${field.id}"`)
    }
    if (before && before.type !== field.type) {
      pushIssue(
        issues,
        `${path}.type`,
        'readonly',
        'cannot change; add a new field and copy the data instead',
      )
    }
    if (
      before &&
      (before.type === 'select' || before.type === 'relation' || before.type === 'file') &&
      field.type === before.type
    ) {
      if ((before.maxSelect ?? 1) > 1 !== (field.maxSelect ?? 1) > 1) {
        pushIssue(
          issues,
          `${path}.maxSelect`,
          'readonly',
          'cannot switch between single and multiple values',
        )
      }
    }
    if ('default' in field && field.default !== undefined) {
      const result = validateFieldValue(field, field.default)
      if (!result.ok) pushIssue(issues, `${path}.default`, result.issue.code, result.issue.message)
    }
    fields.push(field)
  })
  return fields
}

function hasField(type: CollectionType, fields: FieldDef[], name: string): boolean {
  const system: readonly string[] =
    type === 'auth' ? [...BASE_SYSTEM_FIELDS, ...AUTH_SYSTEM_FIELDS] : BASE_SYSTEM_FIELDS
  return system.includes(name) || fields.some((f) => f.name === name)
}

function readIndexes(
  input: unknown,
  collectionId: string,
  type: CollectionType,
  fields: FieldDef[],
  issues: FieldIssues,
): IndexDef[] {
  if (!Array.isArray(input) || input.length > MAX_INDEXES) {
    pushIssue(issues, 'indexes', 'type', `must be an array of at most ${MAX_INDEXES} indexes`)
    return []
  }
  const indexes: IndexDef[] = []
  input.forEach((item: unknown, index) => {
    const path = `indexes.${index}`
    const raw = item as Partial<IndexDef> | null
    if (!raw || !Array.isArray(raw.fields) || raw.fields.length === 0 || raw.fields.length > 16) {
      pushIssue(issues, `${path}.fields`, 'type', 'must list 1-16 field names')
      return
    }
    for (const name of raw.fields) {
      if (typeof name !== 'string' || !hasField(type, fields, name)) {
        pushIssue(
          issues,
          `${path}.fields`,
          'unknown',
          `${JSON.stringify(name)} is not a field of this collection`,
        )
        return
      }
    }
    if (raw.unique !== undefined && typeof raw.unique !== 'boolean')
      pushIssue(issues, `${path}.unique`, 'type', 'must be true or false')
    const hiddenUnprotected = fields.find(
      (f) => raw.fields?.includes(f.name) && f.hidden === true && f.protected !== true,
    )
    if (raw.unique === true && hiddenUnprotected)
      pushIssue(
        issues,
        `${path}.unique`,
        'hidden_unique',
        `"${hiddenUnprotected.name}": ${HIDDEN_UNIQUE_MESSAGE}`,
      )
    const name = raw.name ?? `idx_${collectionId}_${raw.fields.join('_')}`.slice(0, 63)
    if (!NAME_PATTERN.test(name))
      pushIssue(issues, `${path}.name`, 'pattern', 'must be a valid identifier')
    if (indexes.some((i) => i.name === name))
      pushIssue(issues, `${path}.name`, 'unique', `another index is named "${name}"`)
    indexes.push({ name, fields: [...raw.fields], unique: raw.unique === true })
  })
  return indexes
}

function readRules(input: unknown, current: CollectionRules, issues: FieldIssues): CollectionRules {
  if (input === undefined) return current
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    pushIssue(
      issues,
      'rules',
      'type',
      'must be an object with list, view, create, update and delete',
    )
    return current
  }
  const rules = { ...current }
  for (const [key, value] of Object.entries(input)) {
    if (!(RULE_NAMES as readonly string[]).includes(key)) {
      pushIssue(
        issues,
        `rules.${key}`,
        'unknown',
        'must be one of list, view, create, update, delete',
      )
    } else if (value !== null && (typeof value !== 'string' || value.length > MAX_RULE_LENGTH)) {
      pushIssue(
        issues,
        `rules.${key}`,
        'type',
        `must be null or a rule of at most ${MAX_RULE_LENGTH} characters`,
      )
    } else rules[key as keyof CollectionRules] = value
  }
  return rules
}
