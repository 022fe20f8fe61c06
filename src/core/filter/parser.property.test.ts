// Thousands of generated cases each: bounded work, whose time only a loaded machine stretches.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EngineError } from '../errors/engine-error.js'
import { COMPARE_OPS, MODIFIERS, type Expr, type Modifier, type Operand } from './ast.js'
import { parseFilter } from './parser.js'
import { printFilter, stripPositions } from './print.js'

const roomy = { maxLength: 1e6, maxComparisons: 1e6, maxDepth: 1e3 }

/** parseFilter's whole contract for arbitrary input: an AST or an ER_FILTER_* EngineError. */
function parsesOrFailsCleanly(text: string): void {
  try {
    parseFilter(text)
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError)
    expect((error as EngineError).code).toMatch(/^ER_FILTER_/)
    expect((error as EngineError).errors?.filter?.[0]?.message).toMatch(/^at position \d+: /)
  }
}

const tokenSoup = fc
  .array(
    fc.constantFrom(
      'title',
      'author.team.name',
      'tags:length',
      'a:lower',
      'x:',
      '.',
      '@now',
      '@request.auth.id',
      '@request.body.t:isset',
      '@request.query.q',
      '@collection.c.f',
      '@',
      '@request',
      '=',
      '!=',
      '>',
      '>=',
      '<',
      '<=',
      '~',
      '!~',
      '?=',
      '?!~',
      '?',
      '!',
      '&&',
      '||',
      '&',
      '|',
      '(',
      ')',
      '"str"',
      "'s\\'q'",
      '"',
      "'",
      '\\',
      '1',
      '-2.5e3',
      '-',
      '1.',
      'e5',
      'true',
      'null',
      'false',
      '\u0000',
      '\uD800',
      '😀',
      ' ',
      '\n',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''))

describe('parseFilter on arbitrary input', { timeout: 120_000 }, () => {
  it('returns or throws an ER_FILTER_* EngineError for any string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), parsesOrFailsCleanly), { numRuns: 2000 })
  })

  it('… for any UTF-16 (lone surrogates included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), parsesOrFailsCleanly), {
      numRuns: 1000,
    })
    const utf16 = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    })
    fc.assert(fc.property(utf16, parsesOrFailsCleanly), { numRuns: 1000 })
  })

  it('… for near-valid token soup', () => {
    fc.assert(fc.property(tokenSoup, parsesOrFailsCleanly), { numRuns: 3000 })
  })
})

const KEYWORDS = new Set(['true', 'false', 'null'])
const ident = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/)
  .filter((name) => !KEYWORDS.has(name))
const segments = fc.array(ident, { minLength: 1, maxLength: 4 })
const modifier = fc.option(fc.constantFrom<Modifier>(...MODIFIERS), { nil: undefined })
const withModifier = <T extends object>(operand: T, mod: Modifier | undefined) =>
  mod === undefined ? operand : { ...operand, modifier: mod }

const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\u0000'))
const number = fc
  .oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))
  .map((n) => (n === 0 ? 0 : n))

const operand: fc.Arbitrary<Operand> = fc.oneof(
  fc.oneof(text, number, fc.boolean(), fc.constant(null)).map((value) => ({
    kind: 'literal' as const,
    value,
    pos: 0,
  })),
  fc
    .tuple(segments, modifier)
    .map(([segs, mod]) => withModifier({ kind: 'path' as const, segments: segs, pos: 0 }, mod)),
  fc.constant({ kind: 'now' as const, pos: 0 }),
  fc
    .tuple(fc.constantFrom('auth' as const, 'body' as const), segments, modifier)
    .map(([kind, segs, mod]) => withModifier({ kind, segments: segs, pos: 0 }, mod)),
  ident.map((name) => ({ kind: 'query' as const, name, pos: 0 })),
  fc
    .tuple(ident, segments, modifier)
    .map(([collection, segs, mod]) =>
      withModifier({ kind: 'collection' as const, collection, segments: segs, pos: 0 }, mod),
    ),
)

const compare = fc
  .tuple(fc.constantFrom(...COMPARE_OPS), fc.boolean(), operand, operand)
  .map(([op, any, left, right]): Expr => ({ kind: 'compare', op, any, left, right, pos: 0 }))

/** Trees of the shape the grammar produces: left-leaning chains, && under ||, groups as needed. */
const { or: validExpr } = fc.letrec<{ or: Expr; and: Expr; unary: Expr }>((tie) => ({
  or: fc.array(tie('and'), { minLength: 1, maxLength: 3 }).map((parts) => chain('or', parts)),
  and: fc.array(tie('unary'), { minLength: 1, maxLength: 3 }).map((parts) => chain('and', parts)),
  unary: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    compare,
    tie('or').map((expr): Expr => ({ kind: 'group', expr, pos: 0 })),
  ),
}))

function chain(kind: 'and' | 'or', parts: Expr[]): Expr {
  const [first, ...rest] = parts as [Expr, ...Expr[]]
  return rest.reduce<Expr>((left, right) => ({ kind, left, right, pos: 0 }), first)
}

describe('printFilter and parseFilter round trip', { timeout: 120_000 }, () => {
  it('parse(print(ast)) equals the ast, apart from positions', () => {
    fc.assert(
      fc.property(validExpr, (expr) => {
        expect(stripPositions(parseFilter(printFilter(expr), roomy))).toEqual(stripPositions(expr))
      }),
      { numRuns: 1000 },
    )
  })

  it('print(parse(print(ast))) is stable', () => {
    fc.assert(
      fc.property(validExpr, (expr) => {
        const printed = printFilter(expr)
        expect(printFilter(parseFilter(printed, roomy))).toBe(printed)
      }),
      { numRuns: 500 },
    )
  })
})
