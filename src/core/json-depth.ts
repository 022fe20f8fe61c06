/**
 * How deeply JSON may nest, in request bodies and in `json` field values. Parsers, serialisers
 * and validators recurse once per level, so without a bound a body of 5,000 `[` overflows the
 * stack (a 500) long before any size limit is reached. 64 is far beyond any real document.
 */
export const MAX_JSON_DEPTH = 64

/**
 * The 0-based offset in JSON `text` where nesting first goes deeper than `max`, or -1. A linear
 * scan that never recurses; brackets inside strings are text, not nesting.
 *
 * @example
 *   deepNestingOffset('{"a":[[1]]}', 2) // 6: the second `[` is the third level
 */
export function deepNestingOffset(text: string, max: number = MAX_JSON_DEPTH): number {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return -1
}

/** Whether a parsed value has arrays or objects nested deeper than `max` (iterative). */
export function nestsDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number]
    if (depth > max) return true
    const children = Array.isArray(current) ? current : Object.values(current as object)
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
  return false
}
