import type { ExtensionRoute } from '../extensions/extension-registrations.js'
import { BEARER_AUTH, PROBLEM_RESPONSES } from './openapi-components.js'
import type { JsonSchema, OpenApiObject } from './openapi-types.js'

export const EXTENSIONS_TAG = 'Extensions'

/**
 * The paths of an extension's routes (`er.route`), with the TypeBox schemas they declare as
 * parameters, request body and 200 response. Routes decide access themselves, so each accepts
 * a bearer token or none.
 *
 * @example
 *   er.route('GET', '/api/ext/posts/:id/score', handler, { response: Type.Object({ score: Type.Number() }) })
 *   // paths['/api/ext/posts/{id}/score'].get.responses['200'] → { score: number }
 */
export function buildExtensionPaths(
  routes: readonly ExtensionRoute[],
): Record<string, OpenApiObject> {
  const paths: Record<string, OpenApiObject> = {}
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
    const { schema } = route
    const pathNames = [...route.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '')
    const params = properties(schema.params)
    const query = properties(schema.query)
    const parameters = [
      ...pathNames.map((name) => ({
        name,
        in: 'path',
        required: true,
        schema: params.properties[name] ?? { type: 'string' },
      })),
      ...Object.entries(query.properties).map(([name, s]) => ({
        name,
        in: 'query',
        required: query.required.includes(name),
        schema: s,
      })),
    ]
    const item = (paths[path] ??= {})
    item[route.method.toLowerCase()] = {
      operationId: operationId(route),
      tags: [EXTENSIONS_TAG],
      summary: schema.summary ?? `${route.method} ${path} (extension route)`,
      ...(schema.description ? { description: schema.description } : {}),
      security: [{ [BEARER_AUTH]: [] }, {}],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(schema.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: plain(schema.body) } },
            },
          }
        : {}),
      responses: {
        '200': {
          description: 'The route’s answer.',
          content: {
            'application/json': { schema: schema.response ? plain(schema.response) : {} },
          },
        },
        '400': { $ref: `#/components/responses/${PROBLEM_RESPONSES[400]}` },
        '401': { $ref: `#/components/responses/${PROBLEM_RESPONSES[401]}` },
        '403': { $ref: `#/components/responses/${PROBLEM_RESPONSES[403]}` },
        '404': { $ref: `#/components/responses/${PROBLEM_RESPONSES[404]}` },
      },
    }
  }
  return paths
}

/** A TypeBox schema as plain JSON Schema (TypeBox's symbol keys dropped). */
function plain(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema ?? {})) as JsonSchema
}

function properties(schema: unknown): {
  properties: Record<string, JsonSchema>
  required: string[]
} {
  const s = plain(schema) as { properties?: Record<string, JsonSchema>; required?: string[] }
  return { properties: s.properties ?? {}, required: s.required ?? [] }
}

/** `GET /api/ext/posts/:id/score` → `extGetPostsByIdScore`: stable and unique per route. */
function operationId(route: ExtensionRoute): string {
  const words = route.path
    .split('/')
    .slice(2)
    .map((segment) => (segment.startsWith(':') ? `by_${segment.slice(1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
  const pascal = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')
  return `ext${route.method.charAt(0)}${route.method.slice(1).toLowerCase()}${pascal}`
}
