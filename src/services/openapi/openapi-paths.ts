import type { CollectionDef, RuleName } from '../../core/schema/types.js'
import type { CallerVisibility } from '../caller-visibility.js'
import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import { COLLECTION_COMPONENT_SUFFIXES as SUFFIX } from './openapi-names.js'
import { buildAuthPaths } from './openapi-auth-paths.js'
import { multipartRecordBody } from './openapi-file-paths.js'
import { schemaRef, type OpenApiObject } from './openapi-types.js'

/** Superusers only. */
const SUPERUSER = [{ [BEARER_AUTH]: [] }]
// Access rules may let anyone in (`""`), so the token is optional: `{}` is "no credentials".
const OPTIONAL_AUTH = [{ [BEARER_AUTH]: [] }, {}]

const READ: ProblemStatus[] = [400, 401, 403, 404, 429]
const WRITE: ProblemStatus[] = [400, 401, 403, 404, 409, 413, 415, 429]
const REMOVE: ProblemStatus[] = [401, 403, 404, 409, 429]

/** The tag grouping one collection's record operations. */
export function recordsTag(collection: string): string {
  return `${collection} records`
}

/**
 * The paths that exist whatever the collections: schema (only when `schemaApi`: superusers),
 * batch, ops, this document.
 */
export function buildFixedPaths(schemaApi = true): Record<string, OpenApiObject> {
  const paths = allFixedPaths()
  if (!schemaApi) {
    delete paths['/api/collections']
    delete paths['/api/collections/{name}']
  }
  return paths
}

function allFixedPaths(): Record<string, OpenApiObject> {
  const byName = { $ref: '#/components/parameters/collectionName' }
  return {
    '/api/collections': {
      get: op('listCollections', 'Collections', 'List collections', SUPERUSER, {
        200: ok('The collections.', 'CollectionList'),
        ...problems([401, 403, 429]),
      }),
      post: {
        ...op('createCollection', 'Collections', 'Create a collection', SUPERUSER, {
          201: ok('The created collection.', 'Collection'),
          ...problems([400, 401, 403, 409, 413, 415, 429]),
        }),
        requestBody: body('CollectionInput'),
      },
    },
    '/api/collections/{name}': {
      parameters: [byName],
      get: op('getCollection', 'Collections', 'View a collection', SUPERUSER, {
        200: ok('The collection.', 'Collection'),
        ...problems([401, 403, 404, 429]),
      }),
      patch: {
        ...op('updateCollection', 'Collections', 'Change a collection', SUPERUSER, {
          200: ok('The changed collection.', 'Collection'),
          ...problems(WRITE),
        }),
        requestBody: body('CollectionPatch'),
      },
      delete: op('deleteCollection', 'Collections', 'Drop a collection', SUPERUSER, {
        204: { description: 'Dropped.' },
        ...problems(REMOVE),
      }),
    },
    '/api/batch': {
      post: {
        ...op('batch', 'Batch', 'Run record operations in one transaction', OPTIONAL_AUTH, {
          200: ok('Every result, in request order.', 'BatchResponse'),
          ...problems(WRITE),
        }),
        description: 'All or nothing: on failure the problem names the failing `index`.',
        requestBody: body('BatchRequest'),
      },
    },
    '/.well-known/jwks.json': {
      get: op('getJwks', 'Operations', 'Public keys that verify access tokens', undefined, {
        200: {
          description: 'A JWK Set (RFC 7517) of Ed25519 public keys, by `kid`.',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      }),
    },
    '/healthz': {
      get: op('healthz', 'Operations', 'Liveness', undefined, {
        200: {
          description: 'The process is up.',
          content: { 'application/json': { schema: HEALTH } },
        },
      }),
    },
    '/readyz': {
      get: op('readyz', 'Operations', 'Readiness', undefined, {
        200: {
          description: 'Ready to serve: every check passed.',
          content: { 'application/json': { schema: READY } },
        },
        ...problems([503]),
      }),
    },
    '/api/openapi.json': {
      get: op('getOpenApiDocument', 'Operations', 'This document', undefined, {
        200: {
          description: 'The OpenAPI 3.1 document for the current collections.',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      }),
    },
    '/api/docs': {
      get: op('getApiDocs', 'Operations', 'Rendered API docs', undefined, {
        200: {
          description: 'Swagger UI for this document.',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      }),
    },
  }
}

/**
 * The record paths (and, for auth collections, the auth paths) of one collection: only the
 * operations `view` says a rule could grant.
 */
export function buildCollectionPaths(
  collection: CollectionDef,
  stem: string,
  view?: CallerVisibility,
): Record<string, OpenApiObject> {
  const base = `/api/collections/${encodeURIComponent(collection.name)}`
  const tag = recordsTag(collection.name)
  const record = stem + SUFFIX.record
  const param = (name: string) => ({ $ref: `#/components/parameters/${name}` })
  const listParams = ['filter', 'sort', 'page', 'perPage', 'cursor', 'fields', 'expand', 'count']
  const paths: Record<string, OpenApiObject> = {
    [`${base}/records`]: {
      get: {
        ...op(`list${stem}Records`, tag, `List ${collection.name} records`, OPTIONAL_AUTH, {
          200: ok('A page of records.', stem + SUFFIX.list),
          ...problems(READ),
        }),
        parameters: listParams.map(param),
      },
      post: {
        ...op(`create${stem}Record`, tag, `Create a ${collection.name} record`, OPTIONAL_AUTH, {
          201: ok('The created record.', record),
          ...problems(WRITE),
        }),
        requestBody: withMultipart(body(stem + SUFFIX.create), collection),
      },
    },
    [`${base}/records/{id}`]: {
      parameters: [param('recordId')],
      get: {
        ...op(`get${stem}Record`, tag, `View a ${collection.name} record`, OPTIONAL_AUTH, {
          200: ok('The record.', record),
          ...problems(READ),
        }),
        parameters: ['fields', 'expand'].map(param),
      },
      patch: {
        ...op(`update${stem}Record`, tag, `Change a ${collection.name} record`, OPTIONAL_AUTH, {
          200: ok('The changed record.', record),
          ...problems(WRITE),
        }),
        requestBody: withMultipart(body(stem + SUFFIX.update), collection),
      },
      delete: op(`delete${stem}Record`, tag, `Delete a ${collection.name} record`, OPTIONAL_AUTH, {
        204: { description: 'Deleted.' },
        ...problems(REMOVE),
      }),
    },
  }
  if (view) keepAllowed(paths, collection, base, view)
  if (collection.type === 'auth') Object.assign(paths, buildAuthPaths(collection, stem, tag))
  return paths
}

/** The rule behind each method of a records path: GET lists the collection, views a record. */
function ruleOf(method: string, onRecord: boolean): RuleName | undefined {
  if (method === 'get') return onRecord ? 'view' : 'list'
  return ({ post: 'create', patch: 'update', delete: 'delete' } as const)[method]
}

/** Drops the operations no rule could grant, and a path left with none. */
function keepAllowed(
  paths: Record<string, OpenApiObject>,
  collection: CollectionDef,
  base: string,
  view: CallerVisibility,
): void {
  for (const [path, item] of Object.entries(paths)) {
    const onRecord = path !== `${base}/records`
    let left = 0
    for (const method of Object.keys(item)) {
      const rule = ruleOf(method, onRecord)
      if (rule === undefined) continue
      if (view.may(collection, rule)) left++
      else delete item[method]
    }
    if (left === 0) delete paths[path]
  }
}

const HEALTH = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
}
const READY = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready'] },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'ok'],
        properties: {
          name: { type: 'string' },
          ok: { type: 'boolean' },
          error: { type: 'string' },
        },
      },
    },
  },
}

function op(
  operationId: string,
  tag: string,
  summary: string,
  security: OpenApiObject[] | undefined,
  responses: OpenApiObject,
): OpenApiObject {
  return {
    operationId,
    tags: [tag],
    summary,
    ...(security === undefined ? {} : { security }),
    responses,
  }
}

function ok(description: string, schema: string): OpenApiObject {
  return { description, content: { 'application/json': { schema: schemaRef(schema) } } }
}

function body(schema: string): OpenApiObject {
  return { required: true, content: { 'application/json': { schema: schemaRef(schema) } } }
}

/** A record body that, with file fields, may also be multipart/form-data. */
function withMultipart(requestBody: OpenApiObject, collection: CollectionDef): OpenApiObject {
  const multipart = multipartRecordBody(collection)
  if (!multipart) return requestBody
  return {
    ...requestBody,
    content: { ...(requestBody.content as OpenApiObject), 'multipart/form-data': multipart },
  }
}

function problems(statuses: readonly ProblemStatus[]): OpenApiObject {
  return Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )
}
