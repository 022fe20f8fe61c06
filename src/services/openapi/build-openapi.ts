import { buildPrivacyPaths } from './openapi-privacy-paths.js'
import { describeIdempotencyKeys, IDEMPOTENCY_KEY_PARAMETER } from './openapi-idempotency.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { UNFILTERED_VISIBILITY, type CallerVisibility } from '../caller-visibility.js'
import {
  buildParameters,
  buildProblemResponses,
  buildSecuritySchemes,
} from './openapi-components.js'
import { collectionStems } from './openapi-names.js'
import { buildCollectionPaths, buildFixedPaths, recordsTag } from './openapi-paths.js'
import { buildRealtimePaths, REALTIME_TAG } from './openapi-realtime-paths.js'
import { buildFilePaths } from './openapi-file-paths.js'
import { EXTENSIONS_TAG } from './openapi-extension-paths.js'
import { buildAdminPaths } from './openapi-admin-paths.js'
import { buildPaymentPaths, PAYMENTS_TAG } from './openapi-payment-paths.js'
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
 * `view` narrows it to what one caller's class could use (see caller-visibility.ts): only the
 * operations a rule could grant, only collections it can reach, no hidden field names for
 * non-superusers. Component names are derived from every collection, so they are the same in
 * every caller's document.
 *
 * @example
 *   const doc = buildOpenApiDocument(await store.listCollections(), { version: '1.2.0' })
 *   doc.paths['/api/collections/posts/records'] // { get: {...}, post: {...} }
 */
export function buildOpenApiDocument(
  collections: readonly CollectionDef[],
  info: OpenApiInfo = {},
  view: CallerVisibility = UNFILTERED_VISIBILITY,
  /** Paths an extension adds (`er.route`, see openapi-extension-paths.ts). */
  extensionPaths: Record<string, OpenApiObject> = {},
  /** Whether a payment provider is configured (`/api/payments/*` described). */
  payments = false,
): OpenApiDocument {
  const sorted = [...collections].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const stems = collectionStems(sorted)
  // Expansions are described only into collections the caller could view.
  const viewable = new Map(
    [...stems].filter(([name]) => view.mayExpand && canView(sorted, name, view)),
  )
  const schemas: Record<string, JsonSchema> = buildSharedSchemas()
  const paths: Record<string, OpenApiObject> = {
    ...buildFixedPaths(view.showsSchemaApi),
    ...buildRealtimePaths(),
    ...buildFilePaths(),
    ...buildPrivacyPaths(),
    ...extensionPaths,
    ...(view.showsSchemaApi ? buildAdminPaths() : {}),
    ...(payments ? buildPaymentPaths(view.showsSchemaApi) : {}),
  }
  const shown: CollectionDef[] = []
  for (const collection of sorted) {
    const reach = view.reach(collection)
    if (reach === 'none') continue
    shown.push(collection)
    const stem = stems.get(collection.name) ?? collection.name
    // An account-only auth collection: its auth endpoints and the record's system fields.
    const described = reach === 'account' ? { ...collection, fields: [] } : collection
    Object.assign(schemas, buildRecordSchemas(described, stem, viewable, view))
    Object.assign(paths, buildCollectionPaths(described, stem, view))
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: info.title ?? 'Engine Room API',
      version: info.version ?? '0.1.0',
      description:
        'Generated from the live collections. Errors are RFC 9457 problem details ' +
        '(`application/problem+json`) with a stable `code`.' +
        (view === UNFILTERED_VISIBILITY
          ? ''
          : ` Shown for ${view.audience}: the collections, operations and fields their ` +
            'access rules could allow; send a token to see what yours allow.'),
    },
    // Without a configured public URL, the server that served the document (relative to it).
    servers: [{ url: info.serverUrl ?? '/' }],
    tags: [
      { name: 'Collections', description: 'Schema management (superusers only).' },
      { name: 'Batch' },
      { name: 'Operations' },
      { name: REALTIME_TAG, description: 'Record change feeds over Server-Sent Events.' },
      { name: 'Files', description: 'Downloads, thumbnails, file tokens, resumable uploads.' },
      { name: 'Privacy', description: 'Consent given and withdrawn, per declared purpose.' },
      ...(Object.keys(extensionPaths).length > 0
        ? [{ name: EXTENSIONS_TAG, description: 'Routes of the server’s extension.' }]
        : []),
      ...(payments
        ? [{ name: PAYMENTS_TAG, description: 'Products, checkouts, the ledger.' }]
        : []),
      ...(view.showsSchemaApi
        ? [
            { name: 'Jobs', description: 'Background jobs (superusers only).' },
            { name: 'Webhooks', description: 'Signed webhooks and their log (superusers only).' },
            {
              name: 'Mail templates',
              description: 'The mails the engine sends (superusers only).',
            },
          ]
        : []),
      ...shown.map((c) => ({ name: recordsTag(c.name) })),
    ],
    paths: markPublicOperations(describeIdempotencyKeys(paths)),
    components: {
      schemas,
      parameters: { ...buildParameters(), idempotencyKey: IDEMPOTENCY_KEY_PARAMETER },
      responses: buildProblemResponses(),
      securitySchemes: buildSecuritySchemes(),
    },
  }
}

function canView(collections: readonly CollectionDef[], name: string, view: CallerVisibility) {
  const collection = collections.find((c) => c.name === name)
  return collection !== undefined && view.may(collection, 'view')
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

/**
 * An operation that names no security needs none (sign-in, refresh by body, health checks):
 * say so with `security: []`, so that linters and generators need not guess.
 */
function markPublicOperations(paths: Record<string, OpenApiObject>): Record<string, OpenApiObject> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([key, value]) =>
          METHODS.has(key) && !('security' in (value as OpenApiObject))
            ? [key, { ...(value as OpenApiObject), security: [] }]
            : [key, value],
        ),
      ),
    ]),
  )
}
