/** Where a JSON text first goes wrong: 1-based line and column, and what was expected. */
export interface JsonError {
  offset: number
  line: number
  column: number
  message: string
}

/**
 * Checks a JSON text (RFC 8259) and names the first error's line and column. Browsers word
 * `JSON.parse` errors differently and some give no position at all, so the position comes from
 * this small scanner; `JSON.parse` still does the parsing.
 *
 * @example
 *   checkJson('{"a": }')  // { line: 1, column: 7, message: 'expected a value' … }
 */
export function checkJson(text: string): JsonError | null {
  let i = 0
  const fail = (message: string, at = i): never => {
    throw Object.assign(new Error(message), { offset: at })
  }
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++
  }
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length
    else fail('expected a value')
  }
  const string = () => {
    i++
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i)
      if (c < 0x20) fail('control character in a string (write it as \\n, \\t …)')
      if (text[i] === '\\') {
        const next = text[i + 1] ?? ''
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape')
          i += 6
          continue
        }
        if (!'"\\/bfnrt'.includes(next) || next === '') fail('bad escape')
        i += 2
        continue
      }
      i++
    }
    if (i >= text.length) fail('unterminated string')
    i++
  }
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i))
    if (!match) fail('expected a value')
    i += match![0].length
  }
  const value = (depth: number): void => {
    if (depth > 200) fail('nested too deeply')
    space()
    const c = text[i]
    if (c === '{') {
      i++
      space()
      if (text[i] === '}') return void i++
      for (;;) {
        space()
        if (text[i] !== '"') fail('expected a property name in double quotes')
        string()
        space()
        if (text[i] !== ':') fail("expected ':' after the property name")
        i++
        value(depth + 1)
        space()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') return void i++
        fail("expected ',' or '}'")
      }
    }
    if (c === '[') {
      i++
      space()
      if (text[i] === ']') return void i++
      for (;;) {
        value(depth + 1)
        space()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') return void i++
        fail("expected ',' or ']'")
      }
    }
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    fail(i >= text.length ? 'unexpected end of the text' : 'expected a value')
  }
  try {
    value(0)
    space()
    if (i < text.length) fail('unexpected text after the value')
    return null
  } catch (error) {
    const offset = (error as { offset?: number }).offset ?? 0
    const before = text.slice(0, offset).split('\n')
    return {
      offset,
      line: before.length,
      column: (before.at(-1)?.length ?? 0) + 1,
      message: (error as Error).message,
    }
  }
}
