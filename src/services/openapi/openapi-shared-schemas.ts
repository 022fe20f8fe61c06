import type { FieldType } from '../../core/schema/types.js'
import { schemaRef, type JsonSchema } from './openapi-types.js'

/** Most requests one `POST /api/batch` may carry. */
export const BATCH_MAX_REQUESTS = 100

const FIELD_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$'

/**
 * The components that do not depend on the collections: problem details, the collection
 * definition (as `types.ts` declares it) and the batch envelope. None of their names ends with a
 * per-collection suffix (see `openapi-names.ts`).
 */
export function buildSharedSchemas(): Record<string, JsonSchema> {
  return {
    Problem: problemSchema(),
    ...fieldSchemas(),
    Index: {
      type: 'object',
      required: ['fields'],
      properties: {
        name: {
          type: 'string',
          description: 'Generated from the collection and fields if omitted.',
        },
        fields: { type: 'array', items: { type: 'string' }, minItems: 1 },
        unique: { type: 'boolean', default: false },
      },
    },
    CollectionRules: {
      type: 'object',
      description: '`null` = superusers only, `""` = anyone, otherwise a filter expression.',
      properties: Object.fromEntries(
        ['list', 'view', 'create', 'update', 'delete'].map((rule) => [
          rule,
          { type: ['string', 'null'] },
        ]),
      ),
    },
    Collection: {
      type: 'object',
      required: [
        'id',
        'name',
        'type',
        'system',
        'fields',
        'indexes',
        'rules',
        'created',
        'updated',
      ],
      properties: {
        id: { type: 'string', readOnly: true },
        ...collectionInputProperties(),
        system: {
          type: 'boolean',
          readOnly: true,
          description: 'Built-in (`_superusers`): cannot be renamed or dropped.',
        },
        created: { type: 'string', format: 'date-time', readOnly: true },
        updated: { type: 'string', format: 'date-time', readOnly: true },
      },
    },
    CollectionInput: {
      type: 'object',
      required: ['name', 'fields'],
      properties: collectionInputProperties(),
    },
    CollectionPatch: {
      type: 'object',
      description: 'Only the properties sent are changed; `fields` keep their `id` across renames.',
      properties: collectionInputProperties(),
    },
    CollectionList: {
      type: 'object',
      required: ['items'],
      properties: { items: { type: 'array', items: schemaRef('Collection') } },
    },
    BatchRequest: {
      type: 'object',
      required: ['requests'],
      properties: {
        requests: {
          type: 'array',
          minItems: 1,
          maxItems: BATCH_MAX_REQUESTS,
          items: {
            type: 'object',
            required: ['method', 'url'],
            properties: {
              method: { type: 'string', enum: ['POST', 'PATCH', 'DELETE'] },
              url: {
                type: 'string',
                description: 'A records URL, e.g. `/api/collections/posts/records/{id}`.',
              },
              // Open-ended on purpose: a bare `{ type: 'object' }` reads as "no properties"
              // to generators (openapi-typescript: Record<string, never>).
              body: { type: 'object', additionalProperties: {} },
            },
          },
        },
      },
    },
    BatchResponse: {
      type: 'array',
      description: 'One entry per request, in order; all applied or none.',
      items: {
        type: 'object',
        required: ['status', 'body'],
        properties: { status: { type: 'integer' }, body: {} },
      },
    },
  }
}

function problemSchema(): JsonSchema {
  return {
    type: 'object',
    description: 'RFC 9457 problem details.',
    required: ['type', 'title', 'status', 'code'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      // A pattern, not an enum: codes are added over time and clients must not break on one.
      code: { type: 'string', pattern: '^ER_[A-Z0-9_]+$', examples: ['ER_VALIDATION_FAILED'] },
      errors: {
        type: 'object',
        description: 'Problems by field name (or filter position).',
        additionalProperties: {
          type: 'array',
          items: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
      index: {
        type: 'integer',
        minimum: 0,
        description: 'In a batch, the position of the request that failed.',
      },
    },
  }
}

function collectionInputProperties(): JsonSchema {
  return {
    name: { type: 'string' },
    type: { type: 'string', enum: ['base', 'auth'], default: 'base' },
    fields: { type: 'array', items: schemaRef('Field') },
    indexes: { type: 'array', items: schemaRef('Index') },
    rules: schemaRef('CollectionRules'),
    retention: {
      type: ['object', 'null'],
      description:
        'Records created more than `days` days ago are deleted or have their personal fields emptied, by a scheduled job.',
      required: ['days', 'action'],
      properties: {
        days: { type: 'integer', minimum: 1, maximum: 36500 },
        action: { type: 'string', enum: ['delete', 'anonymize'] },
      },
      additionalProperties: false,
    },
  }
}

/** `Field` (a oneOf discriminated by `type`) and one component per field type. */
function fieldSchemas(): Record<string, JsonSchema> {
  const int = { type: 'integer', minimum: 0 }
  const select = { maxSelect: { type: 'integer', minimum: 1 }, minSelect: int }
  const variants: Record<FieldType, JsonSchema> = {
    text: { min: int, max: int, pattern: { type: 'string' }, default: { type: 'string' } },
    number: {
      min: { type: 'number' },
      max: { type: 'number' },
      integer: { type: 'boolean' },
      default: { type: 'number' },
    },
    bool: { default: { type: 'boolean' } },
    date: {
      min: { type: 'string', format: 'date-time' },
      max: { type: 'string', format: 'date-time' },
      default: { type: 'string', format: 'date-time' },
    },
    email: { max: int, default: { type: 'string' } },
    url: { max: int, default: { type: 'string' } },
    select: {
      values: { type: 'array', items: { type: 'string' }, minItems: 1 },
      ...select,
      default: { type: ['string', 'array'], items: { type: 'string' } },
    },
    json: { maxSize: { type: 'integer', minimum: 1 }, default: {} },
    relation: {
      collection: { type: 'string' },
      ...select,
      onDelete: { type: 'string', enum: ['cascade', 'restrict', 'setNull'], default: 'setNull' },
    },
    autodate: { onCreate: { type: 'boolean' }, onUpdate: { type: 'boolean' } },
    file: {
      maxSelect: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
      maxSize: {
        type: 'integer',
        minimum: 1,
        default: 5242880,
        description: 'Largest file in bytes.',
      },
      mimeTypes: {
        type: 'array',
        items: { type: 'string', examples: ['image/png', 'image/*'] },
        description: 'Allowed types, sniffed from the content; any when empty.',
      },
      thumbs: {
        type: 'array',
        items: { type: 'string', pattern: '^\\d{1,4}x\\d{1,4}[tbf]?$', examples: ['100x100'] },
        description: 'Sizes `?thumb=` may ask for: WxH crop, WxHt/WxHb crop top/bottom, WxHf fit.',
      },
    },
  }
  const extraRequired: Partial<Record<FieldType, string[]>> = {
    select: ['values'],
    relation: ['collection'],
    autodate: ['onCreate', 'onUpdate'],
  }
  const out: Record<string, JsonSchema> = {}
  const mapping: Record<string, string> = {}
  for (const [type, props] of Object.entries(variants) as [FieldType, JsonSchema][]) {
    const name = `${type.charAt(0).toUpperCase()}${type.slice(1)}Field`
    mapping[type] = `#/components/schemas/${name}`
    out[name] = {
      type: 'object',
      required: ['name', 'type', ...(extraRequired[type] ?? [])],
      properties: {
        id: { type: 'string', description: 'Stable across renames; assigned when absent.' },
        name: { type: 'string', pattern: FIELD_NAME_PATTERN, maxLength: 63 },
        type: { const: type },
        required: { type: 'boolean', default: false },
        unique: { type: 'boolean', default: false },
        hidden: {
          type: 'boolean',
          default: false,
          description: 'Never returned to, filtered, sorted or projected by non-superusers.',
        },
        protected: {
          type: 'boolean',
          default: false,
          description:
            type === 'file'
              ? 'Downloads need a file token (POST /api/files/token) and the view rule.'
              : 'Only superusers may set or change it; others get a 403 naming the field.',
        },
        personal: {
          type: 'boolean',
          default: false,
          description: 'Personal data: marked in privacy exports (GET /api/privacy/export).',
        },
        ...props,
      },
    }
  }
  out['Field'] = {
    oneOf: Object.values(mapping).map((ref) => ({ $ref: ref })),
    discriminator: { propertyName: 'type', mapping },
  }
  return out
}
