import type { OpenApiObject } from './openapi-types.js'

/** `components.parameters.idempotencyKey`: the header every POST and PATCH honours. */
export const IDEMPOTENCY_KEY_PARAMETER: OpenApiObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: a repeat with the same key, method, URL and body gets the first ' +
    'answer again (`Idempotent-Replayed: true`) within 24 hours; another request with the key is a 422.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
}

/** Paths whose POST and PATCH keep their own retry protocol (tus) and ignore the header. */
const IGNORES_IDEMPOTENCY_KEY = /^\/api\/files\/uploads/

/**
 * `paths` with the `Idempotency-Key` header on every POST and PATCH operation. Copies what it
 * changes: path items may be shared constants reused by the next document.
 */
export function describeIdempotencyKeys(
  paths: Record<string, OpenApiObject>,
): Record<string, OpenApiObject> {
  const ref = { $ref: '#/components/parameters/idempotencyKey' }
  const out: Record<string, OpenApiObject> = {}
  for (const [path, item] of Object.entries(paths)) {
    out[path] = item
    if (IGNORES_IDEMPOTENCY_KEY.test(path)) continue
    for (const method of ['post', 'patch']) {
      const operation = item[method] as OpenApiObject | undefined
      if (!operation) continue
      const parameters = (operation.parameters as unknown[] | undefined) ?? []
      out[path] = { ...out[path], [method]: { ...operation, parameters: [...parameters, ref] } }
    }
  }
  return out
}
