import { describe, expect, it } from 'vitest'
import { EngineError } from '../errors/engine-error.js'
import type { Expr } from './ast.js'
import { parseFilter, parseOptionalFilter } from './parser.js'
import { printFilter, stripPositions } from './print.js'

function parseError(text: string, limits = {}): EngineError {
  try {
    parseFilter(text, limits)
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError)
    return error as EngineError
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`)
}

function firstCompare(expr: Expr): Extract<Expr, { kind: 'compare' }> {
  if (expr.kind === 'compare') return expr
  return firstCompare(expr.kind === 'group' ? expr.expr : expr.left)
}

describe('parseFilter grammar', () => {
  it.each([
    ['title="a"', 'title = "a"'],
    ["title = 'it\\'s'", 'title = "it\'s"'],
    ['title = "say \\"hi\\" \\\\ bye"', 'title = "say \\"hi\\" \\\\ bye"'],
    ['views>=-1.5e+3', 'views >= -1500'],
    ['a=1&&b=2||c=3', 'a = 1 && b = 2 || c = 3'],
    ['a=1||b=2&&c=3', 'a = 1 || b = 2 && c = 3'],
    ['(a=1||b=2)&&c=3', '(a = 1 || b = 2) && c = 3'],
    [
      'a?=1&&b?!=2&&c?>3&&d?>=4&&e?<5&&f?<=6&&g?~"x"&&h?!~"y"',
      'a ?= 1 && b ?!= 2 && c ?> 3 && d ?>= 4 && e ?< 5 && f ?<= 6 && g ?~ "x" && h ?!~ "y"',
    ],
    [
      'a!=1&&b>2&&c<3&&d<=4&&e~"x"&&f!~"y"',
      'a != 1 && b > 2 && c < 3 && d <= 4 && e ~ "x" && f !~ "y"',
    ],
    ['x = true && y = false && z = null', null],
    ['author.team.name:lower = "ann"', null],
    ['tags:length > 1', null],
    ['@now > created', null],
    ['@request.auth.id != "" && @request.auth.team.name = "x"', null],
    ['@request.body.title:isset = true && @request.body.tags:changed = false', null],
    ['@request.query.page = "2"', null],
    ['@collection.members.user.name ?= "x"', null],
    ['  \n\ttitle\r\n=\t"a"  ', 'title = "a"'],
  ])('%s', (text, printed) => {
    const expr = parseFilter(text)
    expect(printFilter(expr)).toBe(printed ?? text)
    expect(stripPositions(parseFilter(printFilter(expr)))).toEqual(stripPositions(expr))
  })

  it('keeps 0-based positions on nodes', () => {
    const expr = parseFilter('  views > 10')
    expect(expr).toMatchObject({ kind: 'compare', op: '>', pos: 2 })
    expect(firstCompare(expr).right).toEqual({ kind: 'literal', value: 10, pos: 10 })
  })

  it('reads ?-operators as the any form', () => {
    expect(parseFilter('tags ?!~ "x"')).toMatchObject({ op: '!~', any: true })
  })

  it('treats true/false/null as literals only when bare', () => {
    expect(firstCompare(parseFilter('null = 1')).left).toMatchObject({
      kind: 'literal',
      value: null,
    })
    expect(firstCompare(parseFilter('null.x = 1')).left).toMatchObject({ kind: 'path' })
  })

  it('treats blank text as no filter only through parseOptionalFilter', () => {
    expect(parseOptionalFilter('')).toBeNull()
    expect(parseOptionalFilter(' \n\t ')).toBeNull()
    expect(parseError('').code).toBe('ER_FILTER_SYNTAX')
  })
})

describe('parseFilter errors', () => {
  it('names the position and what was expected', () => {
    const error = parseError('status = "x" && title')
    expect(error.code).toBe('ER_FILTER_SYNTAX')
    expect(error.status).toBe(400)
    expect(error.errors).toEqual({
      filter: [{ code: 'syntax', message: 'at position 21: expected an operator after "title"' }],
    })
    expect(error.message).toContain('position 21')
  })

  it.each([
    ['title', 5, 'expected an operator after "title"'],
    ['title =', 7, 'expected a value after "="'],
    ['= 1', 0, 'expected a field, a value or "("'],
    ['(a = 1', 6, 'expected ")" to close the "(" at position 0'],
    ['a = 1)', 5, 'expected "&&", "||" or the end of the filter, found ")"'],
    ['a = 1 b = 2', 6, 'found "b"'],
    ['a == 1', 3, 'expected a value after "="'],
    ['a = "open', 4, 'unterminated string'],
    ['a = "\\n"', 5, 'unsupported escape'],
    ['a = 1.', 6, 'expected a digit after "."'],
    ['a = 1e', 6, 'exponent'],
    ['a = -x', 5, 'expected a digit'],
    ['a = 1e999', 4, 'out of range'],
    ['a & b', 2, 'unexpected character "&"'],
    ['a:upper = 1', 2, 'unknown modifier "upper"'],
    ['a. = 1', 2, 'expected a name'],
    ['@ = 1', 1, 'expected a macro name'],
    ['@now.x = 1', 0, 'unknown macro'],
    ['@request.query.a.b = 1', 0, 'unknown macro'],
    ['@request.query.a:lower = 1', 0, 'unknown macro'],
    ['@request.auth = 1', 0, 'unknown macro'],
    ['@collection.posts = 1', 0, 'unknown macro'],
    ['a = 1 &&', 8, 'expected a field, a value or "("'],
    ['a = "x\u0000"', 6, 'NUL character'],
    ['a = "\uD800"', 5, 'unpaired UTF-16 surrogate'],
    ['a = "\uDC00x"', 5, 'unpaired UTF-16 surrogate'],
    ['ä = 1', 0, 'unexpected character "ä"'],
  ])('%j → position %i', (text, position, message) => {
    const error = parseError(text)
    expect(error.code).toBe('ER_FILTER_SYNTAX')
    const issue = error.errors?.filter?.[0]
    expect(issue?.code).toBe('syntax')
    expect(issue?.message).toContain(`at position ${position}: `)
    expect(issue?.message).toContain(message)
  })
})

describe('parseFilter limits', () => {
  it('rejects text over the length limit', () => {
    expect(parseError(`a = "${'x'.repeat(5000)}"`).code).toBe('ER_FILTER_LIMIT')
    expect(parseError('a = 1', { maxLength: 4 }).code).toBe('ER_FILTER_LIMIT')
  })

  it('rejects nesting past the depth limit, and allows it up to the limit', () => {
    const nest = (depth: number) => `${'('.repeat(depth)}a = 1${')'.repeat(depth)}`
    expect(() => parseFilter(nest(64))).not.toThrow()
    const error = parseError(nest(65))
    expect(error.code).toBe('ER_FILTER_LIMIT')
    expect(error.errors?.filter?.[0]?.message).toContain('at position 64:')
  })

  it('turns 10,000 nested parentheses into a limit error, not a crash', () => {
    const text = `${'('.repeat(10_000)}a = 1${')'.repeat(10_000)}`
    expect(parseError(text).code).toBe('ER_FILTER_LIMIT')
    expect(parseError(text, { maxLength: 100_000 }).code).toBe('ER_FILTER_LIMIT')
    expect(parseError('('.repeat(100_000), { maxLength: 1e6 }).code).toBe('ER_FILTER_LIMIT')
  })

  it('counts comparisons', () => {
    const chain = (n: number) => Array.from({ length: n }, (_, i) => `f${i} = ${i}`).join(' || ')
    expect(() => parseFilter(chain(128), { maxLength: 1e5 })).not.toThrow()
    expect(parseError(chain(129), { maxLength: 1e5 }).code).toBe('ER_FILTER_LIMIT')
    expect(parseError(chain(3), { maxComparisons: 2 }).code).toBe('ER_FILTER_LIMIT')
  })

  it('parses a long flat chain without deep recursion', () => {
    const chain = Array.from({ length: 5000 }, () => 'a = 1').join(' && ')
    expect(() => parseFilter(chain, { maxLength: 1e6, maxComparisons: 1e6 })).not.toThrow()
  })
})

describe('parseFilter with hostile input', () => {
  it('keeps SQL inside strings as plain text', () => {
    const expr = parseFilter(`title = "'); drop table posts; --" || id = '" or 1=1 --'`)
    expect(printFilter(expr)).toBe(`title = "'); drop table posts; --" || id = "\\" or 1=1 --"`)
  })

  it('rejects SQL outside strings as syntax', () => {
    expect(parseError('title = 1; drop table posts').code).toBe('ER_FILTER_SYNTAX')
    expect(parseError('title = 1 -- comment').code).toBe('ER_FILTER_SYNTAX')
  })

  it('reads huge numbers as finite values or rejects them', () => {
    expect(firstCompare(parseFilter(`a = ${'9'.repeat(300)}`)).right).toMatchObject({
      value: 1e300,
    })
    expect(parseError(`a = ${'9'.repeat(400)}`).code).toBe('ER_FILTER_SYNTAX')
    expect(firstCompare(parseFilter('a = 1e-400')).right).toMatchObject({ value: 0 })
    expect(firstCompare(parseFilter('a = -0')).right).toMatchObject({ value: 0 })
  })

  it('accepts any well-formed Unicode inside strings', () => {
    expect(firstCompare(parseFilter('a = "😀 ü \u202e"')).right).toMatchObject({
      value: '😀 ü \u202e',
    })
  })
})
