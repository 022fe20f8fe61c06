import { EngineError, type FieldIssues } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RequestContext } from '../context.js'

const protectedByCollection = new WeakMap<CollectionDef, Set<string>>()

/**
 * `protected: true` fields, plus `verified` of auth collections: a user never verifies themself.
 * A protected *file* field means protected downloads (file tokens), not superuser-only writes.
 */
function protectedFields(collection: CollectionDef): Set<string> {
  let names = protectedByCollection.get(collection)
  if (!names) {
    names = new Set(
      collection.fields.filter((f) => f.protected === true && f.type !== 'file').map((f) => f.name),
    )
    if (collection.type === 'auth') names.add('verified')
    protectedByCollection.set(collection, names)
  }
  return names
}

/**
 * Refuses a non-superuser's write to a protected field with a 403 naming each field. `sent` is
 * what the client sent (validated); a value equal to `baseline` passes — the stored record on
 * update, the defaults on create — so a client may send back the record it read.
 *
 * @example
 *   // users.role is { "type": "select", "protected": true }
 *   PATCH /api/collections/users/records/<own id> { "role": "admin" }
 *   // 403 ER_FORBIDDEN, errors: { role: [{ code: 'protected', … }] }
 */
export function checkProtectedWrites(
  ctx: RequestContext,
  collection: CollectionDef,
  sent: Record<string, unknown>,
  baseline: Record<string, unknown>,
): void {
  if (ctx.auth?.isSuperuser === true) return
  const issues: FieldIssues = {}
  for (const name of protectedFields(collection)) {
    if (!Object.hasOwn(sent, name)) continue
    if (JSON.stringify(baseline[name] ?? null) === JSON.stringify(sent[name] ?? null)) continue
    issues[name] = [{ code: 'protected', message: 'only superusers may set this field' }]
  }
  const names = Object.keys(issues)
  if (names.length > 0) {
    throw new EngineError(
      'ER_FORBIDDEN',
      `${names.join(', ')}: only superusers may set ${names.length === 1 ? 'this field' : 'these fields'}.`,
      { errors: issues },
    )
  }
}

/** What a new record holds when the client sends nothing: field defaults, `verified` false. */
export function createBaseline(collection: CollectionDef): Record<string, unknown> {
  const out: Record<string, unknown> = collection.type === 'auth' ? { verified: false } : {}
  for (const field of collection.fields) {
    if ('default' in field && field.default !== undefined) out[field.name] = field.default
  }
  return out
}
