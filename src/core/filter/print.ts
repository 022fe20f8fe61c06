import type { Expr, Modifier, Operand } from './ast.js'

/**
 * Canonical text for an AST: single spaces around operators, double-quoted strings, groups
 * where the tree has them. For any tree `parseFilter` returns, `parseFilter(printFilter(e))`
 * equals `e` apart from positions. A hand-built tree whose nesting the grammar cannot express
 * without parentheses (an `or` under an `and`) is printed with them, so its meaning survives.
 *
 * @example
 *   printFilter(parseFilter("(a='x'||b>1)&&c?~'y'")) // '(a = "x" || b > 1) && c ?~ "y"'
 */
export function printFilter(expr: Expr): string {
  switch (expr.kind) {
    case 'group':
      return `(${printFilter(expr.expr)})`
    case 'compare':
      return `${printOperand(expr.left)} ${expr.any ? '?' : ''}${expr.op} ${printOperand(expr.right)}`
    case 'or':
      return `${printFilter(expr.left)} || ${printChild(expr.right, expr.right.kind === 'or')}`
    case 'and': {
      const right = expr.right.kind === 'and' || expr.right.kind === 'or'
      return `${printChild(expr.left, expr.left.kind === 'or')} && ${printChild(expr.right, right)}`
    }
  }
}

/** Parenthesises a child that the grammar would otherwise re-associate (`&&` binds tighter). */
function printChild(expr: Expr, needsParens: boolean): string {
  return needsParens ? `(${printFilter(expr)})` : printFilter(expr)
}

/** One operand in canonical form. */
export function printOperand(operand: Operand): string {
  switch (operand.kind) {
    case 'literal':
      return printLiteral(operand.value)
    case 'path':
      return withModifier(operand.segments.join('.'), operand.modifier)
    case 'now':
      return '@now'
    case 'auth':
      return withModifier(`@request.auth.${operand.segments.join('.')}`, operand.modifier)
    case 'body':
      return withModifier(`@request.body.${operand.segments.join('.')}`, operand.modifier)
    case 'query':
      return `@request.query.${operand.name}`
    case 'collection':
      return withModifier(
        `@collection.${operand.collection}.${operand.segments.join('.')}`,
        operand.modifier,
      )
  }
}

function printLiteral(value: string | number | boolean | null): string {
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`
  return String(value)
}

function withModifier(text: string, modifier: Modifier | undefined): string {
  return modifier === undefined ? text : `${text}:${modifier}`
}

/**
 * The tree without its `pos` members, to compare trees parsed from differently spaced text.
 *
 * @example
 *   expect(stripPositions(parseFilter('a=1'))).toEqual(stripPositions(parseFilter(' a = 1')))
 */
export function stripPositions(expr: Expr): unknown {
  return JSON.parse(
    JSON.stringify(expr, (key, value: unknown) => (key === 'pos' ? undefined : value)),
  )
}
