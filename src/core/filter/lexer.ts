import { MODIFIERS, type CompareOp, type Modifier } from './ast.js'
import { createFilterError } from './filter-error.js'
import type { Token } from './tokens.js'

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const IDENT_START = /[A-Za-z_]/
const IDENT_PART = /[A-Za-z0-9_]/
const DIGIT = /[0-9]/
const ESCAPABLE = new Set(['"', "'", '\\'])
// Longest first, so `?!=` wins over `?!` and `>=` over `>`.
const OPERATORS = ['!=', '>=', '<=', '!~', '=', '>', '<', '~'] as const

/** True when the text holds only whitespace the lexer skips (the caller's "no filter"). */
export function isBlankFilter(text: string): boolean {
  for (const char of text) if (!WHITESPACE.has(char)) return false
  return true
}

/**
 * Splits filter text into tokens, ending with one `eof` token. Throws ER_FILTER_SYNTAX with
 * the 0-based position of the first character it cannot read.
 *
 * @example
 *   tokenize('views >= 10') // path "views" @0, op ">=" @6, number 10 @9, eof @11
 */
export function tokenize(text: string): Token[] {
  rejectUnsafeCharacters(text)
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const char = text.charAt(i)
    if (WHITESPACE.has(char)) {
      i++
      continue
    }
    const token = readToken(text, i)
    tokens.push(token)
    i += token.text.length
  }
  tokens.push({ kind: 'eof', pos: text.length, text: '' })
  return tokens
}

/**
 * NUL cannot be stored in PostgreSQL text and lone surrogates have no UTF-8 form (drivers would
 * silently swap them for U+FFFD); refusing both keeps the two dialects answering alike.
 */
function rejectUnsafeCharacters(text: string): void {
  const nul = text.indexOf('\u0000')
  const surrogate = /[\uD800-\uDFFF]/u.exec(text)?.index ?? -1
  if (nul === -1 && surrogate === -1) return
  const first = nul === -1 ? surrogate : surrogate === -1 ? nul : Math.min(nul, surrogate)
  const what = first === nul ? 'NUL character' : 'unpaired UTF-16 surrogate'
  throw createFilterError('ER_FILTER_SYNTAX', first, `${what} is not allowed`)
}

function readToken(text: string, pos: number): Token {
  const char = text.charAt(pos)
  const pair = text.slice(pos, pos + 2)
  if (char === '(') return { kind: 'lparen', pos, text: char }
  if (char === ')') return { kind: 'rparen', pos, text: char }
  if (pair === '&&') return { kind: 'and', pos, text: pair }
  if (pair === '||') return { kind: 'or', pos, text: pair }
  if (char === '"' || char === "'") return readString(text, pos)
  if (DIGIT.test(char) || char === '-') return readNumber(text, pos)
  if (IDENT_START.test(char)) return readPath(text, pos, pos, 'path')
  if (char === '@') return readPath(text, pos, pos + 1, 'macro')
  const any = char === '?'
  const op = OPERATORS.find((candidate) => text.startsWith(candidate, any ? pos + 1 : pos))
  if (op !== undefined) {
    return { kind: 'op', op: op as CompareOp, any, pos, text: (any ? '?' : '') + op }
  }
  throw createFilterError(
    'ER_FILTER_SYNTAX',
    pos,
    `unexpected character ${describeChar(text, pos)}`,
  )
}

function readString(text: string, pos: number): Token {
  const quote = text.charAt(pos)
  let value = ''
  let i = pos + 1
  while (i < text.length) {
    const char = text.charAt(i)
    if (char === quote) return { kind: 'string', value, pos, text: text.slice(pos, i + 1) }
    if (char === '\\') {
      const next = text.charAt(i + 1)
      if (!ESCAPABLE.has(next)) {
        // Only \" \' \\ exist (QUERY-LANGUAGE.md); anything else is almost surely a typo.
        throw createFilterError(
          'ER_FILTER_SYNTAX',
          i,
          'unsupported escape; use \\" \\\' or \\\\ inside a string',
        )
      }
      value += next
      i += 2
      continue
    }
    value += char
    i++
  }
  throw createFilterError('ER_FILTER_SYNTAX', pos, `unterminated string starting with ${quote}`)
}

function readNumber(text: string, pos: number): Token {
  let i = pos
  if (text.charAt(i) === '-') i++
  i = readDigits(text, i, 'expected a digit')
  if (text.charAt(i) === '.') i = readDigits(text, i + 1, 'expected a digit after "."')
  if (text.charAt(i) === 'e' || text.charAt(i) === 'E') {
    i++
    if (text.charAt(i) === '+' || text.charAt(i) === '-') i++
    i = readDigits(text, i, 'expected a digit in the exponent')
  }
  const source = text.slice(pos, i)
  const value = Number(source)
  if (!Number.isFinite(value)) {
    throw createFilterError('ER_FILTER_SYNTAX', pos, `number ${source} is out of range`)
  }
  // -0 prints as "0"; normalising keeps print∘parse an identity.
  return { kind: 'number', value: value === 0 ? 0 : value, pos, text: source }
}

function readDigits(text: string, start: number, expected: string): number {
  let i = start
  while (DIGIT.test(text.charAt(i))) i++
  if (i === start) {
    throw createFilterError(
      'ER_FILTER_SYNTAX',
      start,
      `${expected}, found ${describeChar(text, start)}`,
    )
  }
  return i
}

/** Reads `ident { "." ident } [ ":" modifier ]` from `start`; `pos` is where the token began. */
function readPath(text: string, pos: number, start: number, kind: 'path' | 'macro'): Token {
  const segments: string[] = []
  let i = start
  for (;;) {
    if (!IDENT_START.test(text.charAt(i))) {
      const what = segments.length === 0 && kind === 'macro' ? 'a macro name after "@"' : 'a name'
      throw createFilterError(
        'ER_FILTER_SYNTAX',
        i,
        `expected ${what}, found ${describeChar(text, i)}`,
      )
    }
    const begin = i
    while (IDENT_PART.test(text.charAt(i))) i++
    segments.push(text.slice(begin, i))
    if (text.charAt(i) !== '.') break
    i++
  }
  let modifier: Modifier | undefined
  if (text.charAt(i) === ':') {
    const begin = i + 1
    let end = begin
    while (IDENT_PART.test(text.charAt(end))) end++
    const name = text.slice(begin, end)
    modifier = MODIFIERS.find((candidate) => candidate === name)
    if (modifier === undefined) {
      throw createFilterError(
        'ER_FILTER_SYNTAX',
        begin,
        `unknown modifier ${JSON.stringify(name)}; expected isset, changed, length or lower`,
      )
    }
    i = end
  }
  const source = text.slice(pos, i)
  return modifier === undefined
    ? { kind, segments, pos, text: source }
    : { kind, segments, modifier, pos, text: source }
}

function describeChar(text: string, pos: number): string {
  if (pos >= text.length) return 'the end of the filter'
  const code = text.codePointAt(pos) ?? 0
  const char = String.fromCodePoint(code)
  return code < 0x20 || (code >= 0xd800 && code <= 0xdfff)
    ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
    : JSON.stringify(char)
}
