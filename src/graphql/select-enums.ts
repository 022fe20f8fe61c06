import { GraphQLEnumType, type GraphQLEnumValueConfigMap } from 'graphql'
import type { SelectField } from '../core/schema/types.js'

const ENUM_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/
/** Names the GraphQL spec forbids as enum values (§3.9: "not true, false or null"). */
const FORBIDDEN = new Set(['true', 'false', 'null'])

/**
 * The GraphQL enum value name of each of a select field's values, in the field's order.
 *
 * A value that is already a valid enum name (`draft`, `in_review`, `Published`) is its own name,
 * so documents and JSON variables carry the stored string unchanged. Any other value is mapped:
 * every character outside `[_0-9A-Za-z]` becomes `_`, and a `_` is put in front of a result that
 * starts with a digit or is `true`, `false` or `null` (`in-progress` → `in_progress`,
 * `4k` → `_4k`, `null` → `_null`). When a mapped name is taken by a value listed earlier or
 * by a value that needs no mapping, `_2`, `_3`, … is appended (`a-b` beside `a_b` → `a_b_2`).
 * The enum value's description quotes the stored value, and responses and inputs translate
 * both ways, so only the GraphQL spelling differs from REST's.
 *
 * @example
 *   enumValueNames(['draft', 'in-progress', 'in_progress']) // ['draft', 'in_progress_2', 'in_progress']
 */
export function enumValueNames(values: readonly string[]): string[] {
  const valid = (v: string) => ENUM_NAME.test(v) && !FORBIDDEN.has(v)
  const taken = new Set(values.filter(valid))
  return values.map((value) => {
    if (valid(value)) return value
    let base = value.replace(/[^_0-9A-Za-z]/g, '_')
    if (!/^[_A-Za-z]/.test(base) || FORBIDDEN.has(base)) base = `_${base}`
    let name = base
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`
    taken.add(name)
    return name
  })
}

/**
 * The enum type of a select field: each value named by {@link enumValueNames}, resolving to the
 * stored string. A stored value the field no longer lists (values removed by a schema change
 * do not rewrite rows) is returned as stored rather than failing the whole record, as REST does.
 */
export function buildSelectEnum(name: string, collection: string, field: SelectField) {
  const names = enumValueNames(field.values)
  const values: GraphQLEnumValueConfigMap = {}
  field.values.forEach((value, i) => {
    const key = names[i] as string
    values[key] = {
      value,
      ...(key !== value ? { description: `Stored as ${JSON.stringify(value)}.` } : {}),
    }
  })
  const type = new GraphQLEnumType({
    name,
    description: `The values of "${field.name}" in "${collection}".`,
    values,
  })
  const strict = type.serialize.bind(type)
  const known = new Set(field.values)
  type.serialize = (value: unknown) =>
    typeof value === 'string' && !known.has(value) ? value : strict(value)
  return type
}
