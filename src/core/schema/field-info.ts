import type { CollectionDef, FieldDef, ValueKind } from './types.js'

/** True when the field holds a list of values (multi-select, multi-relation). */
export function isMultiValued(field: FieldDef): boolean {
  return (
    (field.type === 'select' || field.type === 'relation' || field.type === 'file') &&
    (field.maxSelect ?? 1) > 1
  )
}

/** The kind of a single value of the field, as the filter language compares it. */
export function valueKindOf(field: FieldDef): ValueKind {
  switch (field.type) {
    case 'number':
      return 'number'
    case 'bool':
      return 'bool'
    case 'date':
    case 'autodate':
      return 'date'
    case 'json':
      return 'json'
    default:
      return 'text'
  }
}

/**
 * A field the filter language and the store can address: the user's fields plus the system ones,
 * described the same way. System fields are synthesised so callers need no special cases.
 */
export interface ResolvedField {
  name: string
  kind: ValueKind
  multi: boolean
  /** Target collection name when the field is a relation. */
  relation?: string
  system: boolean
  /** Never readable through the API (auth `password`, `tokenKey`; user `hidden` fields). */
  hidden: boolean
  def?: FieldDef
}

const resolved = new WeakMap<CollectionDef, ReadonlyMap<string, ResolvedField>>()

/**
 * Every addressable field of a collection by name, system fields included. Kept per definition
 * (definitions are immutable: a schema change makes a new one); parsing a sort asks for it on
 * every list request.
 */
export function resolveFields(collection: CollectionDef): ReadonlyMap<string, ResolvedField> {
  let fields = resolved.get(collection)
  if (!fields) {
    const built = buildFields(collection)
    // Shared by every caller from now on.
    for (const field of built.values()) Object.freeze(field)
    resolved.set(collection, (fields = built))
  }
  return fields
}

function buildFields(collection: CollectionDef): Map<string, ResolvedField> {
  const out = new Map<string, ResolvedField>()
  const sys = (name: string, kind: ValueKind, hidden = false) =>
    out.set(name, { name, kind, multi: false, system: true, hidden })
  sys('id', 'text')
  sys('created', 'date')
  sys('updated', 'date')
  if (collection.type === 'auth') {
    sys('email', 'text')
    sys('verified', 'bool')
    sys('password', 'text', true)
    sys('tokenKey', 'text', true)
  }
  for (const field of collection.fields) {
    out.set(field.name, {
      name: field.name,
      kind: valueKindOf(field),
      multi: isMultiValued(field),
      ...(field.type === 'relation' ? { relation: field.collection } : {}),
      system: false,
      hidden: field.hidden === true,
      def: field,
    })
  }
  return out
}
