/** Brackets (`{`, `[`, `(`) a GraphQL document may nest; the selection depth limit is far below. */
export const MAX_DOCUMENT_NESTING = 64

/**
 * The 0-based offset where a GraphQL document first nests brackets deeper than `max`, or -1.
 * graphql-js parses (and the JSON scalar reads literals) by recursion, one frame per level: a
 * query of 5,000 `[` overflows the stack while still under the token limit. A linear scan that
 * skips strings, block strings and comments, where brackets are text.
 */
export function documentNestingOffset(source: string, max = MAX_DOCUMENT_NESTING): number {
  let depth = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        i += 3
        while (i < source.length && !source.startsWith('"""', i)) i += source[i] === '\\' ? 2 : 1
        i += 2
      } else {
        i++
        while (i < source.length && source[i] !== '"' && source[i] !== '\n') {
          i += source[i] === '\\' ? 2 : 1
        }
      }
    } else if (c === '{' || c === '[' || c === '(') {
      if (++depth > max) return i
    } else if (c === '}' || c === ']' || c === ')') depth--
  }
  return -1
}
