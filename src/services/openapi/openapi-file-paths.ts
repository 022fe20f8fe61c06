import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import type { JsonSchema, OpenApiObject } from './openapi-types.js'

const FILES_TAG = 'Files'
const OPTIONAL_AUTH = [{ [BEARER_AUTH]: [] }, {}]

/**
 * The `multipart/form-data` body of a create or update, for a collection with file fields: each
 * file field takes binary parts (under `name`, `name+` or `+name`), `name-` takes names to
 * remove, other fields are text parts read as their type, `@jsonPayload` a JSON object of them.
 * Undefined when the collection has no file field.
 */
export function multipartRecordBody(collection: CollectionDef): OpenApiObject | undefined {
  const files = collection.fields.filter((f) => f.type === 'file' && f.hidden !== true)
  if (files.length === 0) return undefined
  const properties: Record<string, JsonSchema> = {
    '@jsonPayload': {
      type: 'string',
      description: 'A JSON object with the non-file fields (instead of, or besides, text parts).',
    },
  }
  for (const field of collection.fields) {
    // Hidden fields are not named in documents that callers of every kind may read.
    if (field.type === 'autodate' || field.hidden === true) continue
    if (field.type !== 'file') {
      properties[field.name] = { type: 'string', description: `Read as its type (${field.type}).` }
      continue
    }
    const binary = {
      type: 'string',
      format: 'binary',
      contentMediaType: 'application/octet-stream',
    }
    const many = isMultiValued(field)
    properties[field.name] = many
      ? {
          type: 'array',
          items: binary,
          maxItems: field.maxSelect,
          description: 'Replaces the files.',
        }
      : { ...binary, description: 'Replaces the file.' }
    if (many) {
      properties[`${field.name}+`] = {
        type: 'array',
        items: binary,
        description: 'Files to add after the others.',
      }
      properties[`+${field.name}`] = {
        type: 'array',
        items: binary,
        description: 'Files to add before the others.',
      }
    }
    properties[`${field.name}-`] = {
      type: 'array',
      items: { type: 'string' },
      description: 'Names of files to remove.',
    }
  }
  return { schema: { type: 'object', properties } }
}

/** `/api/files/{collection}/{record}/{name}`, `/api/files/token` and the tus endpoint. */
export function buildFilePaths(): Record<string, OpenApiObject> {
  const path = (name: string, description: string) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  })
  const query = (name: string, description: string, schema: JsonSchema = { type: 'string' }) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema,
  })
  return {
    '/api/files/{collection}/{record}/{name}': {
      get: {
        operationId: 'downloadFile',
        tags: [FILES_TAG],
        summary: 'Download a file (or a thumbnail)',
        description:
          "Files of protected fields need `token` (or a bearer token) and the record's view rule; others are served to anyone with the URL. Supports `Range`, `If-None-Match` and `If-Range`. HTML, SVG, XML and other active types are sent as attachments.",
        security: OPTIONAL_AUTH,
        parameters: [
          path('collection', 'Collection name.'),
          path('record', 'Record id.'),
          path('name', 'Stored file name, as the record holds it.'),
          query('thumb', "One of the field's declared `thumbs` sizes (images only)."),
          query('format', 'Thumbnail format.', {
            type: 'string',
            enum: ['jpeg', 'png', 'webp', 'avif'],
          }),
          query('token', 'A file token from POST /api/files/token.'),
          query('download', 'Any value but 0/false: always `Content-Disposition: attachment`.'),
          {
            name: 'Range',
            in: 'header',
            required: false,
            schema: { type: 'string', examples: ['bytes=0-1023'] },
          },
        ],
        responses: {
          200: {
            description: 'The file.',
            content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
          },
          206: {
            description: 'The asked range.',
            content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
          },
          304: { description: 'Not modified (`If-None-Match` matched the ETag).' },
          ...problems([400, 401, 404, 416, 429]),
        },
      },
    },
    '/api/files/token': {
      post: {
        operationId: 'createFileToken',
        tags: [FILES_TAG],
        summary: 'Get a short-lived token for protected files',
        security: [{ [BEARER_AUTH]: [] }],
        responses: {
          200: {
            description: 'A token to pass as `?token=`.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['token', 'expires'],
                  properties: {
                    token: { type: 'string' },
                    expires: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
          ...problems([401, 429]),
        },
      },
    },
    '/api/files/uploads': {
      post: {
        operationId: 'createResumableUpload',
        tags: [FILES_TAG],
        summary: 'Start a resumable upload (tus 1.0.0)',
        description:
          'tus creation: `Tus-Resumable: 1.0.0`, `Upload-Length`, `Upload-Metadata` with `collection`, `field` and `filename`. Continue with PATCH on the `Location`; attach the finished upload to a record as `"<field>": "tus:<id>"`.',
        security: [{ [BEARER_AUTH]: [] }],
        responses: {
          201: { description: 'Created; `Location` is the upload URL.' },
          ...problems([400, 401, 403, 413, 429]),
        },
      },
    },
  }
}

function problems(statuses: readonly ProblemStatus[]): OpenApiObject {
  return Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )
}
