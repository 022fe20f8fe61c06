import type { RequestContext } from '../context.js'
import { callerVisibility } from '../caller-visibility.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type * as BuildOpenApi from './build-openapi.js'
import type { OpenApiInfo } from './build-openapi.js'
import type { OpenApiObject } from './openapi-types.js'

/** Documents kept per schema version: one per visibility class seen (API keys add classes). */
const MAX_DOCUMENTS = 32

let builder: Promise<typeof BuildOpenApi> | undefined

/** The document builder (a dozen modules of path and schema tables), loaded by the first ask. */
function loadBuilder(): Promise<typeof BuildOpenApi> {
  builder ??= import('./build-openapi.js')
  return builder
}

export type OpenApiDocuments = ReturnType<typeof createOpenApiDocuments>

/**
 * `GET /api/openapi.json` for each caller: the document of what its visibility class could use
 * (caller-visibility.ts), as JSON text. Built once per class and schema version and kept (an
 * LRU of MAX_DOCUMENTS), so a request costs a map lookup, not a build: per class, never per
 * caller, because no rule's answer for the class depends on who in it is asking.
 *
 * @example
 *   const documents = createOpenApiDocuments({ registry })
 *   reply.send(await documents.json(ctx))
 */
export function createOpenApiDocuments(deps: {
  registry: SchemaRegistry
  info?: OpenApiInfo
  /** The extension's routes (`buildExtensionPaths`), the same in every caller's document. */
  extensionPaths?: Record<string, OpenApiObject>
  /** Whether a payment provider is configured (its routes are described). */
  payments?: boolean
}) {
  const { registry } = deps
  let catalogue: unknown
  const byClass = new Map<string, string>()

  async function json(ctx: RequestContext): Promise<string> {
    const { buildOpenApiDocument } = await loadBuilder()
    await registry.refreshIfStale()
    if (catalogue !== registry.catalogue) {
      byClass.clear()
      catalogue = registry.catalogue
    }
    const view = callerVisibility(ctx, registry)
    let text = byClass.get(view.key)
    if (text === undefined) {
      text = JSON.stringify(
        buildOpenApiDocument(
          registry.list(),
          deps.info,
          view,
          deps.extensionPaths,
          deps.payments === true,
        ),
      )
      if (byClass.size >= MAX_DOCUMENTS) byClass.delete(byClass.keys().next().value as string)
    } else {
      byClass.delete(view.key)
    }
    byClass.set(view.key, text)
    return text
  }

  return { json }
}
