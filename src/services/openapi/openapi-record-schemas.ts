import type { CollectionDef } from '../../core/schema/types.js'
import { UNFILTERED_VISIBILITY, type CallerVisibility } from '../caller-visibility.js'
import { fieldExpandSchema, fieldInputSchema, fieldOutputSchema } from './openapi-field-schemas.js'
import { COLLECTION_COMPONENT_SUFFIXES as SUFFIX } from './openapi-names.js'
import { schemaRef, type JsonSchema } from './openapi-types.js'

/** A client-supplied record id on create (the engine makes one when it is absent). */
export const RECORD_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'
/** The shortest password an auth collection accepts. */
export const PASSWORD_MIN_LENGTH = 8

/**
 * The component schemas one collection contributes, keyed by component name:
 * `<Stem>Record`, `<Stem>Create`, `<Stem>Update`, `<Stem>RecordList`, and for auth collections
 * `<Stem>PasswordLogin` and `<Stem>AuthResponse`.
 *
 * @example
 *   buildRecordSchemas(posts, 'Posts', stems) // { PostsRecord: {...}, PostsCreate: {...}, ... }
 */
export function buildRecordSchemas(
  collection: CollectionDef,
  stem: string,
  stems: ReadonlyMap<string, string>,
  view: CallerVisibility = UNFILTERED_VISIBILITY,
): Record<string, JsonSchema> {
  const recordName = stem + SUFFIX.record
  // Each schema names only the fields the caller reads (outputs) or may write (inputs).
  const read = { ...collection, fields: collection.fields.filter((f) => view.returnsField(f)) }
  const written = { ...collection, fields: collection.fields.filter((f) => view.acceptsField(f)) }
  const schemas: Record<string, JsonSchema> = {
    [recordName]: buildRecordSchema(read, stems),
  }
  if (view.may(collection, 'create')) schemas[stem + SUFFIX.create] = buildCreateSchema(written)
  if (view.may(collection, 'update')) schemas[stem + SUFFIX.update] = buildUpdateSchema(written)
  if (view.may(collection, 'list'))
    schemas[stem + SUFFIX.list] = buildListSchema(collection, recordName)
  if (collection.type === 'auth') {
    schemas[stem + SUFFIX.passwordLogin] = {
      type: 'object',
      required: ['identity', 'password'],
      properties: {
        identity: { type: 'string', description: 'The account email.' },
        password: { type: 'string', writeOnly: true },
        cookie: { type: 'boolean', description: 'Return the tokens as HttpOnly cookies.' },
      },
    }
    schemas[stem + SUFFIX.authResponse] = {
      type: 'object',
      required: ['record'],
      properties: {
        token: { type: 'string', description: 'Send as `Authorization: Bearer <token>`.' },
        refreshToken: {
          type: 'string',
          description: 'Single use: `/auth/refresh` spends it and returns a new one.',
        },
        record: schemaRef(recordName),
      },
      description: 'In cookie mode (`"cookie": true`) only `record`: the tokens are cookies.',
    }
  }
  return schemas
}

function buildRecordSchema(
  collection: CollectionDef,
  stems: ReadonlyMap<string, string>,
): JsonSchema {
  const properties: JsonSchema = {
    id: { type: 'string', readOnly: true },
    created: { type: 'string', format: 'date-time', readOnly: true },
    updated: { type: 'string', format: 'date-time', readOnly: true },
  }
  // `password` and `tokenKey` are never returned, so they are not described here at all.
  if (collection.type === 'auth') {
    properties['email'] = { type: 'string', format: 'email' }
    properties['verified'] = { type: 'boolean' }
  }
  const expand: JsonSchema = {}
  for (const field of collection.fields) {
    properties[field.name] = fieldOutputSchema(field)
    const target = fieldExpandSchema(field, (name) => {
      const targetStem = stems.get(name)
      return targetStem === undefined ? undefined : targetStem + SUFFIX.record
    })
    if (target !== undefined) expand[field.name] = target
  }
  const required = Object.keys(properties)
  // A user field may be called `expand`; then it wins and the expansion has no slot to describe.
  properties['expand'] ??= {
    type: 'object',
    description:
      'Present when `expand` was requested: related records by relation path, ' +
      'back-relations as `<collection>_via_<field>`.',
    properties: expand,
    additionalProperties: true,
  }
  return {
    type: 'object',
    description:
      `A record of \`${collection.name}\`. ` +
      'The `fields` parameter narrows it to the listed properties.',
    required,
    properties,
  }
}

function buildCreateSchema(collection: CollectionDef): JsonSchema {
  const properties: JsonSchema = {
    id: {
      type: 'string',
      pattern: RECORD_ID_PATTERN,
      description: 'Optional client-supplied id; generated when absent.',
    },
  }
  const required: string[] = []
  if (collection.type === 'auth') {
    properties['email'] = { type: 'string', format: 'email' }
    properties['password'] = { type: 'string', minLength: PASSWORD_MIN_LENGTH, writeOnly: true }
    required.push('email', 'password')
  }
  for (const field of collection.fields) {
    const schema = fieldInputSchema(field)
    if (schema === undefined) continue
    // A default fills in a field the body leaves out, so that field need not be sent. It is said
    // in words, not with JSON Schema's `default`: openapi-typescript (by default) makes a
    // property with a `default` required, which would oblige clients to send it.
    const hasDefault = 'default' in field && field.default !== undefined
    properties[field.name] = hasDefault ? withDefaultNote(schema, field.default) : schema
    // A required bool only forbids null: `false` is a value, and absent means `false`.
    if (field.required === true && field.type !== 'bool' && !hasDefault) required.push(field.name)
  }
  return { type: 'object', ...(required.length > 0 ? { required } : {}), properties }
}

function buildUpdateSchema(collection: CollectionDef): JsonSchema {
  const properties: JsonSchema = {}
  if (collection.type === 'auth') {
    properties['email'] = {
      type: 'string',
      format: 'email',
      description:
        'Superusers only (it clears `verified` unless set too); users change it with request-email-change.',
    }
    properties['password'] = { type: 'string', minLength: PASSWORD_MIN_LENGTH, writeOnly: true }
    properties['oldPassword'] = {
      type: 'string',
      writeOnly: true,
      description: 'The current password: required beside `password` unless a superuser sets it.',
    }
  }
  for (const field of collection.fields) {
    const schema = fieldInputSchema(field)
    if (schema === undefined) continue
    properties[field.name] = schema
  }
  return {
    type: 'object',
    description: 'Only the properties sent are changed.',
    properties,
  }
}

function buildListSchema(collection: CollectionDef, recordName: string): JsonSchema {
  return {
    type: 'object',
    description: `A page of \`${collection.name}\` records.`,
    required: ['items', 'page', 'perPage', 'nextCursor'],
    properties: {
      items: { type: 'array', items: schemaRef(recordName) },
      page: { type: 'integer', minimum: 1 },
      perPage: { type: 'integer', minimum: 1, maximum: 500 },
      nextCursor: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; `null` on the last page.',
      },
      totalItems: { type: 'integer', minimum: 0, description: 'Only with `count=true`.' },
    },
  }
}

function withDefaultNote(schema: JsonSchema, value: unknown): JsonSchema {
  const note = `Defaults to \`${JSON.stringify(value)}\` when left out.`
  const description = typeof schema['description'] === 'string' ? schema['description'] : undefined
  return { ...schema, description: description ? `${description} ${note}` : note }
}
