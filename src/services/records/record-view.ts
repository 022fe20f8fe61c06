import type { CollectionDef } from '../../core/schema/types.js'
import type { Row } from '../../adapters/store/store.js'

/** Columns that never leave the server, whoever asks. */
const SECRET_COLUMNS = ['password', 'tokenKey']

const hiddenByCollection = new WeakMap<CollectionDef, string[]>()

function hiddenFields(collection: CollectionDef): string[] {
  let hidden = hiddenByCollection.get(collection)
  if (!hidden) {
    hidden = collection.fields.filter((f) => f.hidden).map((f) => f.name)
    hiddenByCollection.set(collection, hidden)
  }
  return hidden
}

/**
 * A stored row as the API shows it: secrets removed always, `hidden` fields removed unless a
 * superuser asks. Mutates and returns the row (rows are fresh from the store, never shared).
 */
export function toApiRecord(collection: CollectionDef, row: Row, showHidden: boolean): Row {
  if (collection.type === 'auth') for (const name of SECRET_COLUMNS) delete row[name]
  if (!showHidden) for (const name of hiddenFields(collection)) delete row[name]
  return row
}

/**
 * The form of a record kept in the outbox: secrets removed, hidden fields kept, so that each
 * reader's own `toApiRecord` decides about those. A copy: the row itself stays untouched.
 */
export function changeSnapshot(collection: CollectionDef, row: Row): Row {
  return toApiRecord(collection, { ...row }, true)
}

/**
 * Applies `fields=id,title,expand.author.name`: keeps the named top-level keys and, under
 * `expand`, the named keys of each expanded record. `*` keeps everything at its level.
 */
export function projectRecord(record: Row, projection: FieldProjection | undefined): Row {
  if (!projection || projection.all) return record
  const out: Row = {}
  for (const key of projection.keys) if (key in record) out[key] = record[key]
  const expand = record.expand as Record<string, unknown> | undefined
  if (expand && projection.expand.size > 0) {
    const projected: Record<string, unknown> = {}
    for (const [name, inner] of projection.expand) {
      const value = expand[name]
      if (value === undefined) continue
      projected[name] = Array.isArray(value)
        ? value.map((v) => projectRecord(v as Row, inner))
        : value === null
          ? null
          : projectRecord(value as Row, inner)
    }
    out.expand = projected
  }
  return out
}

/** A parsed `fields` parameter, one level of a record. */
export interface FieldProjection {
  all: boolean
  keys: Set<string>
  expand: Map<string, FieldProjection>
}
