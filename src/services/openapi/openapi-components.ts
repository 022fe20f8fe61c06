import type { OpenApiObject } from './openapi-types.js'
import { schemaRef } from './openapi-types.js'

/** The security scheme every authenticated operation names. */
export const BEARER_AUTH = 'bearerAuth'

/** Error responses by status; each is a `#/components/responses` entry of the same name. */
export const PROBLEM_RESPONSES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  416: 'RangeNotSatisfiable',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
} as const

export type ProblemStatus = keyof typeof PROBLEM_RESPONSES

const PROBLEM_DESCRIPTIONS: Record<ProblemStatus, string> = {
  400: 'Invalid input, filter or query parameter (`errors` names the field).',
  401: 'Missing, invalid or expired token.',
  403: 'An access rule denied the request.',
  404: 'No such collection or record.',
  409: 'Conflict: a unique constraint, an existing name, or a record still referenced.',
  413: 'Request body too large.',
  415: 'Unsupported media type: send `application/json` (or `multipart/form-data` with files), or a file of a type its field does not accept.',
  416: 'The `Range` asks for bytes outside the file (`Content-Range` gives its size).',
  429: 'Too many requests; retry after `Retry-After` seconds.',
  503: 'Not ready or shedding load; retry after `Retry-After` seconds.',
}

const RETRY_AFTER = {
  description: 'Seconds to wait before retrying.',
  schema: { type: 'integer', minimum: 0 },
}

/** `components.responses`: one problem-details response per error status. */
export function buildProblemResponses(): Record<string, OpenApiObject> {
  const out: Record<string, OpenApiObject> = {}
  for (const [status, name] of Object.entries(PROBLEM_RESPONSES)) {
    const code = Number(status) as ProblemStatus
    out[name] = {
      description: PROBLEM_DESCRIPTIONS[code],
      ...(code === 429 || code === 503 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
      content: { 'application/problem+json': { schema: schemaRef('Problem') } },
    }
  }
  return out
}

/** `components.parameters`: the list and view query parameters plus the path ids. */
export function buildParameters(): Record<string, OpenApiObject> {
  const query = (name: string, description: string, schema: OpenApiObject): OpenApiObject => ({
    name,
    in: 'query',
    required: false,
    description,
    schema,
  })
  return {
    collectionName: {
      name: 'name',
      in: 'path',
      required: true,
      description: 'Collection name.',
      schema: { type: 'string' },
    },
    recordId: {
      name: 'id',
      in: 'path',
      required: true,
      description: 'Record id.',
      schema: { type: 'string' },
    },
    filter: query('filter', 'Filter expression, e.g. `status = "published" && views > 10`.', {
      type: 'string',
    }),
    sort: query('sort', 'Comma-separated paths, `-` for descending, e.g. `-created,title`.', {
      type: 'string',
    }),
    page: query('page', 'Page number, from 1.', { type: 'integer', minimum: 1, default: 1 }),
    perPage: query('perPage', 'Items per page.', {
      type: 'integer',
      minimum: 1,
      maximum: 500,
      default: 30,
    }),
    cursor: query(
      'cursor',
      'Keyset cursor: a `nextCursor` from a previous page with the same filter and sort.',
      { type: 'string' },
    ),
    fields: query('fields', 'Projection, e.g. `id,title,expand.author.name`.', { type: 'string' }),
    expand: query(
      'expand',
      'Relation paths to expand (at most 3 levels), e.g. `author,comments_via_post.author`.',
      { type: 'string' },
    ),
    count: query('count', 'Add `totalItems` (runs a count query).', {
      type: 'boolean',
      default: false,
    }),
  }
}

/** `components.securitySchemes` */
export function buildSecuritySchemes(): Record<string, OpenApiObject> {
  return {
    [BEARER_AUTH]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'A token from `POST /api/collections/{auth collection}/auth/password`.',
    },
  }
}
