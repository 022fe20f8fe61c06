import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { DialectAdapter } from './dialect-adapter.js'
import type { Row } from './store.js'

type Codec = {
  encode(values: Row): Row
  decode(row: Row): Row
  /**
   * The row a table stores for an insert of `encoded`, decoded: every column in table order,
   * the value sent where there is one, else the column's default (false for booleans, null
   * otherwise). Text, double precision and boolean values come back from PostgreSQL as sent
   * (validation refuses text that is not well-formed Unicode, which UTF-8 would alter).
   */
  stored(encoded: Row): Row
}

const codecs = new WeakMap<CollectionDef, Map<string, Codec>>()

/**
 * Converts between JS values and columns for one collection: booleans to the dialect's form,
 * arrays and JSON to text. Built once per collection definition (definitions are immutable;
 * a schema change makes a new object), so no per-request schema work happens.
 */
export function recordCodec(collection: CollectionDef, adapter: DialectAdapter): Codec {
  let byDialect = codecs.get(collection)
  if (!byDialect) codecs.set(collection, (byDialect = new Map()))
  let codec = byDialect.get(adapter.dialect)
  if (!codec) byDialect.set(adapter.dialect, (codec = buildCodec(collection, adapter)))
  return codec
}

function buildCodec(collection: CollectionDef, adapter: DialectAdapter): Codec {
  const boolFields = collection.fields.filter((f) => f.type === 'bool').map((f) => f.name)
  if (collection.type === 'auth') boolFields.push('verified')
  const jsonFields = collection.fields
    .filter((f) => f.type === 'json' || isMultiValued(f))
    .map((f) => f.name)
  const multiFields = new Set(collection.fields.filter(isMultiValued).map((f) => f.name))
  const columns = [
    'id',
    'created',
    'updated',
    ...(collection.type === 'auth' ? ['email', 'password', 'verified', 'tokenKey'] : []),
    ...collection.fields.map((f) => f.name),
  ]
  const bools = new Set(boolFields)
  const codec: Codec = {
    encode(values) {
      const out: Row = { ...values }
      for (const name of boolFields)
        if (name in out) out[name] = adapter.encodeBool(out[name] === true)
      for (const name of jsonFields) {
        if (!(name in out)) continue
        const value = out[name]
        out[name] = value === null || value === undefined ? null : JSON.stringify(value)
      }
      return out
    },
    decode(row) {
      for (const name of boolFields) row[name] = row[name] === true || row[name] === 1
      for (const name of jsonFields) {
        const value = row[name]
        row[name] =
          typeof value === 'string'
            ? JSON.parse(value)
            : (value ?? (multiFields.has(name) ? [] : null))
      }
      return row
    },
    stored(encoded) {
      const row: Row = {}
      for (const name of columns) {
        const value = encoded[name]
        row[name] =
          value === undefined || value === null
            ? bools.has(name)
              ? adapter.encodeBool(false)
              : null
            : value
      }
      return codec.decode(row)
    },
  }
  return codec
}
