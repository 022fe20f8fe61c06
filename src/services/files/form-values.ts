import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'

/**
 * The body a multipart request's text parts make: `@jsonPayload` (a JSON object, as PocketBase
 * clients send it) merged with one key per other part, read as its field's type (numbers, bools
 * and JSON parsed; a part repeated, or a multi-valued field, makes a list). A value that does not
 * parse is kept as text, so validation reports it against its field.
 *
 * @example
 *   formBody(posts, [['title', 'Hi'], ['views', '3'], ['tags', 'a'], ['tags', 'b']])
 *   // { title: 'Hi', views: 3, tags: ['a', 'b'] }
 */
export function formBody(
  collection: CollectionDef,
  parts: readonly (readonly [string, string])[],
): Record<string, unknown> {
  const grouped = new Map<string, string[]>()
  let payload: Record<string, unknown> = {}
  for (const [name, value] of parts) {
    if (name === '@jsonPayload') {
      payload = parseObject(value) ?? { '@jsonPayload': value }
      continue
    }
    const list = grouped.get(name)
    if (list) list.push(value)
    else grouped.set(name, [value])
  }
  const byName = new Map(collection.fields.map((f) => [f.name, f]))
  const body: Record<string, unknown> = { ...payload }
  for (const [name, values] of grouped) {
    const field = byName.get(name)
    if (!field) {
      // File modifiers (`avatar-`, `avatar+`) and system keys stay text (lists when repeated).
      body[name] = values.length === 1 ? values[0] : values
      continue
    }
    if (isMultiValued(field)) {
      body[name] =
        values.length === 1 && (values[0] ?? '').trim().startsWith('[')
          ? parseJson(values[0] as string)
          : values.filter((v) => v !== '')
      continue
    }
    const value = values.length === 1 ? (values[0] as string) : values
    if (typeof value !== 'string') {
      body[name] = value
      continue
    }
    switch (field.type) {
      case 'number': {
        const n = Number(value)
        body[name] = value.trim() === '' ? null : Number.isFinite(n) ? n : value
        break
      }
      case 'bool':
        body[name] = value === 'true' ? true : value === 'false' ? false : value
        break
      case 'json':
        body[name] = parseJson(value)
        break
      default:
        body[name] = value
    }
  }
  return body
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  const value = parseJson(text)
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}
