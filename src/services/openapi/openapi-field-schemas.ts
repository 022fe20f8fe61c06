import { isMultiValued } from '../../core/schema/field-info.js'
import type { FieldDef } from '../../core/schema/types.js'
import { schemaRef, type JsonSchema } from './openapi-types.js'

/**
 * How a field's value looks in a record the API returns: never null when the field is
 * `required` (arrays and booleans never are). Shape only (type, format, enum): length
 * and range limits are left to the input schemas because rows written before a schema `PATCH`
 * tightened `max` or `pattern` are not rewritten, so a response may legitimately exceed them.
 *
 * @example
 *   fieldOutputSchema({ id: 'f1', name: 'views', type: 'number', integer: true })
 *   // { type: ['integer', 'null'] }; with required: true, { type: 'integer' }
 */
export function fieldOutputSchema(field: FieldDef): JsonSchema {
  // The engine refuses to store null in a required field (create and update alike), so its value
  // is always there; any other single value may be null. A default is applied only when a
  // create leaves the field out (an explicit null is kept), so it guarantees nothing here.
  const guaranteed = field.required === true
  const scalar = (type: string): JsonSchema => ({ type: guaranteed ? type : [type, 'null'] })
  switch (field.type) {
    case 'text':
      return scalar('string')
    case 'email':
      return { ...scalar('string'), format: 'email' }
    case 'url':
      return { ...scalar('string'), format: 'uri' }
    case 'date':
      return { ...scalar('string'), format: 'date-time' }
    case 'autodate':
      return { type: ['string', 'null'], format: 'date-time', readOnly: true }
    case 'number':
      return scalar(field.integer === true ? 'integer' : 'number')
    case 'bool':
      return { type: 'boolean' }
    case 'select':
      if (isMultiValued(field)) {
        return { type: 'array', items: { type: 'string', enum: [...field.values] } }
      }
      return guaranteed
        ? { type: 'string', enum: [...field.values] }
        : { type: ['string', 'null'], enum: [...field.values, null] }
    case 'json':
      return {}
    case 'relation':
      return isMultiValued(field) ? { type: 'array', items: { type: 'string' } } : scalar('string')
    case 'file':
      return isMultiValued(field)
        ? { type: 'array', items: { type: 'string' }, description: FILE_URL_HINT }
        : { ...scalar('string'), description: FILE_URL_HINT }
  }
}

const FILE_URL_HINT =
  'File name; download at /api/files/{collection}/{record id}/{name} (with ?token= when the field is protected).'

/**
 * How a field's value may be written in a create or update body: the output shape plus every
 * constraint that maps to a JSON Schema keyword. `required` fields do not accept `null`.
 * Returns `undefined` for `autodate`, which only the engine writes.
 *
 * @example
 *   fieldInputSchema({ id: 'f1', name: 'title', type: 'text', required: true, max: 200 })
 *   // { type: 'string', maxLength: 200 }
 */
export function fieldInputSchema(field: FieldDef): JsonSchema | undefined {
  const nullable = field.required !== true
  const scalar = (type: string): JsonSchema => ({ type: nullable ? [type, 'null'] : type })
  const extra: JsonSchema = {
    ...(field.hidden === true ? { writeOnly: true } : {}),
    ...(field.protected === true && field.type !== 'file'
      ? { description: 'Protected: only superusers may set or change it (else 403).' }
      : {}),
  }
  switch (field.type) {
    case 'text':
      return compact({
        ...scalar('string'),
        minLength: field.min,
        maxLength: field.max,
        pattern: field.pattern,
        ...extra,
      })
    case 'email':
      return compact({
        ...scalar('string'),
        format: 'email',
        maxLength: field.max,
        ...extra,
      })
    case 'url':
      return compact({
        ...scalar('string'),
        format: 'uri',
        maxLength: field.max,
        ...extra,
      })
    case 'date':
      return compact({
        ...scalar('string'),
        format: 'date-time',
        // JSON Schema has no keyword for instant bounds; say them in words.
        description: describeBounds(field.min, field.max),
        ...extra,
      })
    case 'number':
      return compact({
        ...scalar(field.integer === true ? 'integer' : 'number'),
        minimum: field.min,
        maximum: field.max,
        ...extra,
      })
    case 'bool':
      return compact({ type: 'boolean', ...extra })
    case 'select':
      if (isMultiValued(field)) {
        return compact({
          type: 'array',
          items: { type: 'string', enum: [...field.values] },
          uniqueItems: true,
          minItems: positive(field.minSelect),
          maxItems: field.maxSelect,
          ...extra,
        })
      }
      return compact({
        ...scalar('string'),
        enum: nullable ? [...field.values, null] : [...field.values],
        ...extra,
      })
    case 'json':
      return compact({
        description:
          field.maxSize === undefined
            ? undefined
            : `Any JSON value of at most ${field.maxSize} bytes serialised.`,
        ...extra,
      })
    case 'relation':
      if (isMultiValued(field)) {
        return compact({
          type: 'array',
          items: { type: 'string' },
          uniqueItems: true,
          minItems: positive(field.minSelect),
          maxItems: field.maxSelect,
          description: `Ids of records in \`${field.collection}\`.`,
          ...extra,
        })
      }
      return compact({
        ...scalar('string'),
        description: `Id of a record in \`${field.collection}\`.`,
        ...extra,
      })
    case 'autodate':
      return undefined
    case 'file':
      return compact({
        ...(isMultiValued(field)
          ? { type: 'array', items: { type: 'string' }, maxItems: field.maxSelect }
          : scalar('string')),
        description:
          'In JSON: the names of files the record already has, to keep (in this order), or null/[] to remove all; or "tus:<upload id>" to attach a finished resumable upload. Upload new files with multipart/form-data.',
        ...extra,
      })
  }
}

/**
 * The `expand` entry of a relation field: the target's record schema when the target is among
 * the documented collections, any object otherwise.
 */
export function fieldExpandSchema(
  field: FieldDef,
  recordSchemaOf: (collection: string) => string | undefined,
): JsonSchema | undefined {
  if (field.type !== 'relation') return undefined
  const target = recordSchemaOf(field.collection)
  const one = target === undefined ? { type: 'object' } : schemaRef(target)
  return isMultiValued(field) ? { type: 'array', items: one } : one
}

function describeBounds(min: string | undefined, max: string | undefined): string | undefined {
  if (min !== undefined && max !== undefined) return `Between ${min} and ${max}.`
  if (min !== undefined) return `Not before ${min}.`
  if (max !== undefined) return `Not after ${max}.`
  return undefined
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined
}

/** Drops `undefined` values so the JSON is minimal and the same input gives the same bytes. */
function compact(schema: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(schema).filter(([, v]) => v !== undefined))
}
