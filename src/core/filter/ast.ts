/**
 * The filter language's syntax tree, as `parseFilter` builds it (QUERY-LANGUAGE.md, "Grammar").
 * Every node keeps the 0-based position of its first character so later stages (the schema
 * check) can point at it in errors. Positions are UTF-16 code unit offsets into the filter text.
 */

/** Comparison operators without the `?` prefix; `any` on the node says whether it had one. */
export type CompareOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~' | '!~'

export const COMPARE_OPS: readonly CompareOp[] = ['=', '!=', '>', '>=', '<', '<=', '~', '!~']

export type Modifier = 'isset' | 'changed' | 'length' | 'lower'

export const MODIFIERS: readonly Modifier[] = ['isset', 'changed', 'length', 'lower']

/** `"text"`, `12.5`, `true`, `null`. */
export interface LiteralOperand {
  kind: 'literal'
  value: string | number | boolean | null
  pos: number
}

/** `title`, `author.team.name`, `tags:length`. */
export interface PathOperand {
  kind: 'path'
  segments: string[]
  modifier?: Modifier
  pos: number
}

/** `@now`. */
export interface NowOperand {
  kind: 'now'
  pos: number
}

/** `@request.auth.id`, `@request.auth.team.name`. */
export interface AuthOperand {
  kind: 'auth'
  segments: string[]
  modifier?: Modifier
  pos: number
}

/** `@request.body.title`, `@request.body.title:isset`. */
export interface BodyOperand {
  kind: 'body'
  segments: string[]
  modifier?: Modifier
  pos: number
}

/** `@request.query.page` (one name, no modifier). */
export interface QueryOperand {
  kind: 'query'
  name: string
  pos: number
}

/** `@collection.members.user`: the field over every row of another collection. */
export interface CollectionOperand {
  kind: 'collection'
  collection: string
  segments: string[]
  modifier?: Modifier
  pos: number
}

export type Operand =
  | LiteralOperand
  | PathOperand
  | NowOperand
  | AuthOperand
  | BodyOperand
  | QueryOperand
  | CollectionOperand

/** `left op right`; `any` is true for the `?=` family. */
export interface CompareExpr {
  kind: 'compare'
  op: CompareOp
  any: boolean
  left: Operand
  right: Operand
  pos: number
}

/** `left && right` / `left || right`; chains are left-associative. `pos` is the operator's. */
export interface LogicalExpr {
  kind: 'and' | 'or'
  left: Expr
  right: Expr
  pos: number
}

/** `( expr )`, kept so that printing reproduces the user's grouping. */
export interface GroupExpr {
  kind: 'group'
  expr: Expr
  pos: number
}

export type Expr = LogicalExpr | GroupExpr | CompareExpr
