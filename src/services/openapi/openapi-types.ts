/**
 * The slice of OpenAPI 3.1 that Engine Room emits. Schemas are plain JSON Schema 2020-12 objects,
 * so they are typed loosely: the validator in the tests is what keeps them honest.
 */

/** A JSON Schema (2020-12) object, or a `$ref` to one under `#/components/schemas`. */
export type JsonSchema = { [keyword: string]: unknown }

/** An OpenAPI operation, path item or component; loosely typed for the same reason. */
export type OpenApiObject = { [key: string]: unknown }

/** The document `GET /api/openapi.json` serves. */
export interface OpenApiDocument {
  openapi: '3.1.0'
  jsonSchemaDialect: string
  info: { title: string; version: string; description?: string }
  servers?: { url: string }[]
  tags: { name: string; description?: string }[]
  paths: { [path: string]: OpenApiObject }
  components: {
    schemas: { [name: string]: JsonSchema }
    parameters: { [name: string]: OpenApiObject }
    responses: { [name: string]: OpenApiObject }
    securitySchemes: { [name: string]: OpenApiObject }
  }
}

/** Options for {@link buildOpenApiDocument}; every key has a default. */
export interface OpenApiInfo {
  /** `info.title`, default `Engine Room API`. */
  title?: string
  /** `info.version`, default `0.1.0` (the API's version, not the document's format). */
  version?: string
  /** When set, the only entry of `servers`; otherwise clients resolve paths against the page. */
  serverUrl?: string
}

/** `{ $ref: '#/components/schemas/<name>' }` */
export function schemaRef(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` }
}
