import type { CollectionDef } from '../../core/schema/types.js'
import {
  buildParameters,
  buildProblemResponses,
  buildSecuritySchemes,
} from './openapi-components.js'
import { collectionStems } from './openapi-names.js'
import { buildCollectionPaths, buildFixedPaths, recordsTag } from './openapi-paths.js'
import { buildRealtimePaths, REALTIME_TAG } from './openapi-realtime-paths.js'
import { buildRecordSchemas } from './openapi-record-schemas.js'
import { buildSharedSchemas } from './openapi-shared-schemas.js'
import type { JsonSchema, OpenApiDocument, OpenApiInfo, OpenApiObject } from './openapi-types.js'

export type { OpenApiDocument, OpenApiInfo } from './openapi-types.js'
export { collectionStems } from './openapi-names.js'

/**
 * The OpenAPI 3.1 document for the API as the given collections shape it: the fixed routes plus
 * records (and, for auth collections, password log-in) routes and schemas per collection.
 * Pure and deterministic: collections are taken in name order, so the same set gives the same
 * JSON whatever order it arrives in. Component names follow `collectionStems`
 * (`_superusers` → `SuperusersRecord`, `SuperusersCreate`, …).
 *
 * @example
 *   const doc = buildOpenApiDocument(await store.listCollections(), { version: '1.2.0' })
 *   doc.paths['/api/collections/posts/records'] // { get: {...}, post: {...} }
 */
export function buildOpenApiDocument(
  collections: readonly CollectionDef[],
  info: OpenApiInfo = {},
): OpenApiDocument {
  const sorted = [...collections].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const stems = collectionStems(sorted)
  const schemas: Record<string, JsonSchema> = buildSharedSchemas()
  const paths: Record<string, OpenApiObject> = { ...buildFixedPaths(), ...buildRealtimePaths() }
  for (const collection of sorted) {
    const stem = stems.get(collection.name) ?? collection.name
    Object.assign(schemas, buildRecordSchemas(collection, stem, stems))
    Object.assign(paths, buildCollectionPaths(collection, stem))
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: info.title ?? 'Engine Room API',
      version: info.version ?? '0.1.0',
      description:
        'Generated from the live collections. Errors are RFC 9457 problem details ' +
        '(`application/problem+json`) with a stable `code`.',
    },
    ...(info.serverUrl === undefined ? {} : { servers: [{ url: info.serverUrl }] }),
    tags: [
      { name: 'Collections', description: 'Schema management (superusers only).' },
      { name: 'Batch' },
      { name: 'Operations' },
      { name: REALTIME_TAG, description: 'Record change feeds over Server-Sent Events.' },
      ...sorted.map((c) => ({ name: recordsTag(c.name) })),
    ],
    paths,
    components: {
      schemas,
      parameters: buildParameters(),
      responses: buildProblemResponses(),
      securitySchemes: buildSecuritySchemes(),
    },
  }
}
