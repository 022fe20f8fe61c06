import type { Expr, Modifier, Operand } from './ast.js'
import { createFilterError } from './filter-error.js'
import { isBlankFilter, tokenize } from './lexer.js'
import { describeToken, type Token } from './tokens.js'

/** Bounds on one filter (QUERY-LANGUAGE.md, "Checks and limits"); all configurable. */
export interface FilterLimits {
  /** Characters (UTF-16 code units) of filter text. */
  maxLength: number
  /** Levels of nested parentheses. */
  maxDepth: number
  /** Comparisons in the whole expression. */
  maxComparisons: number
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = {
  maxLength: 4096,
  maxDepth: 64,
  maxComparisons: 128,
}

const KEYWORDS: Record<string, boolean | null> = { true: true, false: false, null: null }

/**
 * Parses filter text into an AST. Throws only EngineError: ER_FILTER_SYNTAX (with the 0-based
 * position in `errors.filter[0].message`) or ER_FILTER_LIMIT. Blank text is a syntax error here;
 * use `parseOptionalFilter` where blank means "no filter".
 *
 * @example
 *   parseFilter('status = "published" && views > 10')
 *   // { kind: 'and', left: { kind: 'compare', op: '=', any: false, left: path, right: literal, … }, … }
 */
export function parseFilter(text: string, limits: Partial<FilterLimits> = {}): Expr {
  const bounds = { ...DEFAULT_FILTER_LIMITS, ...limits }
  if (text.length > bounds.maxLength) {
    throw createFilterError(
      'ER_FILTER_LIMIT',
      bounds.maxLength,
      `the filter is ${text.length} characters long; at most ${bounds.maxLength} are allowed`,
    )
  }
  if (isBlankFilter(text)) throw createFilterError('ER_FILTER_SYNTAX', 0, 'the filter is empty')
  return new Parser(tokenize(text), bounds).parse()
}

/**
 * Like `parseFilter`, but blank text (empty or only whitespace) means "no filter": `null`.
 *
 * @example
 *   parseOptionalFilter('  ') // null
 */
export function parseOptionalFilter(text: string, limits: Partial<FilterLimits> = {}): Expr | null {
  return isBlankFilter(text) ? null : parseFilter(text, limits)
}

class Parser {
  #tokens: Token[]
  #limits: FilterLimits
  #index = 0
  #depth = 0
  #comparisons = 0

  constructor(tokens: Token[], limits: FilterLimits) {
    this.#tokens = tokens
    this.#limits = limits
  }

  parse(): Expr {
    const expr = this.#parseOr()
    const next = this.#peek()
    if (next.kind !== 'eof') {
      throw this.#syntax(
        next,
        `expected "&&", "||" or the end of the filter, found ${describeToken(next)}`,
      )
    }
    return expr
  }

  // Chains are loops, not recursion, so only parentheses deepen the stack (and they are bounded).
  #parseOr(): Expr {
    let left = this.#parseAnd()
    for (let token = this.#peek(); token.kind === 'or'; token = this.#peek()) {
      this.#index++
      left = { kind: 'or', left, right: this.#parseAnd(), pos: token.pos }
    }
    return left
  }

  #parseAnd(): Expr {
    let left = this.#parseUnary()
    for (let token = this.#peek(); token.kind === 'and'; token = this.#peek()) {
      this.#index++
      left = { kind: 'and', left, right: this.#parseUnary(), pos: token.pos }
    }
    return left
  }

  #parseUnary(): Expr {
    const open = this.#peek()
    if (open.kind !== 'lparen') return this.#parseComparison()
    if (this.#depth >= this.#limits.maxDepth) {
      throw createFilterError(
        'ER_FILTER_LIMIT',
        open.pos,
        `parentheses nest deeper than ${this.#limits.maxDepth} levels`,
      )
    }
    this.#index++
    this.#depth++
    const expr = this.#parseOr()
    this.#depth--
    const close = this.#peek()
    if (close.kind !== 'rparen') {
      throw this.#syntax(
        close,
        `expected ")" to close the "(" at position ${open.pos}, found ${describeToken(close)}`,
      )
    }
    this.#index++
    return { kind: 'group', expr, pos: open.pos }
  }

  #parseComparison(): Expr {
    const first = this.#peek()
    const left = this.#parseOperand('expected a field, a value or "("')
    if (++this.#comparisons > this.#limits.maxComparisons) {
      throw createFilterError(
        'ER_FILTER_LIMIT',
        first.pos,
        `the filter has more than ${this.#limits.maxComparisons} comparisons`,
      )
    }
    const op = this.#peek()
    if (op.kind !== 'op') {
      throw this.#syntax(op, `expected an operator after ${describeToken(first)}`)
    }
    this.#index++
    const right = this.#parseOperand(`expected a value after ${describeToken(op)}`)
    return { kind: 'compare', op: op.op, any: op.any, left, right, pos: first.pos }
  }

  #parseOperand(expected: string): Operand {
    const token = this.#peek()
    this.#index++
    switch (token.kind) {
      case 'string':
      case 'number':
        return { kind: 'literal', value: token.value, pos: token.pos }
      case 'path': {
        const [only] = token.segments
        const keyword = only === undefined ? undefined : KEYWORDS[only]
        // `true`/`false`/`null` alone are literals; with a dot or modifier they are field names.
        if (keyword !== undefined && token.segments.length === 1 && token.modifier === undefined) {
          return { kind: 'literal', value: keyword, pos: token.pos }
        }
        return withModifier({ kind: 'path', segments: token.segments, pos: token.pos }, token)
      }
      case 'macro':
        return this.#toMacro(token)
      default:
        this.#index--
        throw this.#syntax(token, `${expected}, found ${describeToken(token)}`)
    }
  }

  #toMacro(token: Extract<Token, { kind: 'macro' }>): Operand {
    const [head, second, ...rest] = token.segments
    const pos = token.pos
    if (head === 'now' && second === undefined && token.modifier === undefined) {
      return { kind: 'now', pos }
    }
    if (head === 'request' && (second === 'auth' || second === 'body') && rest.length > 0) {
      return withModifier({ kind: second, segments: rest, pos }, token)
    }
    if (head === 'request' && second === 'query' && rest.length === 1 && !token.modifier) {
      return { kind: 'query', name: rest[0] ?? '', pos }
    }
    if (head === 'collection' && second !== undefined && rest.length > 0) {
      return withModifier({ kind: 'collection', collection: second, segments: rest, pos }, token)
    }
    throw this.#syntax(
      token,
      `unknown macro ${describeToken(token)}; expected @now, @request.auth.<field>, ` +
        '@request.body.<field>, @request.query.<name> or @collection.<name>.<field>',
    )
  }

  #peek(): Token {
    // The token list always ends with `eof`, and the parser never moves past it.
    return this.#tokens[Math.min(this.#index, this.#tokens.length - 1)] as Token
  }

  #syntax(token: Token, message: string) {
    return createFilterError('ER_FILTER_SYNTAX', token.pos, message)
  }
}

function withModifier<T extends Operand & { modifier?: Modifier }>(
  operand: T,
  token: { modifier?: Modifier },
): T {
  return token.modifier === undefined ? operand : { ...operand, modifier: token.modifier }
}
