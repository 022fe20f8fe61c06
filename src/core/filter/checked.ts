import type { ValueKind } from '../schema/types.js'
import type { CompareOp } from './ast.js'

/**
 * The schema-checked form of a filter: what `checkFilter` returns and the store's compiler
 * reads. Every field reference carries its resolved chain of hops, so compiling needs no schema.
 */

/** A comparison's value kind; `any` for request values whose type is known only at run time. */
export type OperandType = ValueKind | 'any' | 'null'

/** One resolved field on a path: `author` (a relation to users), then `name` (text). */
export interface FieldStep {
  /** Collection (and table) that holds the field. */
  collection: string
  /** Field (and column) name. */
  field: string
  kind: ValueKind
  /** The column holds a JSON array of strings (multi select / multi relation). */
  multi: boolean
  /** Target collection when the field is a relation. */
  relation?: string
}

/**
 * Where a field path starts: the record being filtered, every row of a collection
 * (`@collection.name.…`), or the signed-in record's values (`@request.auth.…`, checked against
 * the auth collection).
 */
export type FieldRoot = { kind: 'record' } | { kind: 'collection'; name: string } | { kind: 'auth' }

export interface CheckedLiteral {
  kind: 'literal'
  /** Date literals are already normalised to `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  value: string | number | boolean | null
  type: OperandType
  multi: false
  pos: number
}

export interface CheckedField {
  kind: 'field'
  root: FieldRoot
  /** Relation hops, then the field compared; never empty. */
  steps: FieldStep[]
  modifier?: 'lower' | 'length'
  type: ValueKind
  /** More than one value per record: a multi hop or field, or a `@collection` root. */
  multi: boolean
  pos: number
}

export interface CheckedNow {
  kind: 'now'
  type: 'date'
  multi: false
  pos: number
}

/**
 * A request value looked up at run time: `auth` (without an auth collection to check against),
 * `body` (rules only) or `query`. Arrays count as multi-valued when compiled.
 */
export interface CheckedRequestValue {
  kind: 'request'
  source: 'auth' | 'body' | 'query'
  path: string[]
  modifier?: 'lower' | 'length' | 'isset' | 'changed'
  type: OperandType
  /**
   * The collection whose record ids this value holds, when the schema says so:
   * `@request.body.<relation>` names its target, `@request.body.id` the rule's own collection.
   * Comparing it with `@request.auth.id` then also compares the caller's collection.
   */
  identifies?: string
  multi: false
  pos: number
}

export type CheckedOperand = CheckedLiteral | CheckedField | CheckedNow | CheckedRequestValue

export interface CheckedCompare {
  kind: 'compare'
  op: CompareOp
  any: boolean
  left: CheckedOperand
  right: CheckedOperand
  /** The kind both sides are compared as (`any` only when neither side has a static type). */
  type: OperandType
  pos: number
}

export interface CheckedLogical {
  kind: 'and' | 'or'
  left: CheckedExpr
  right: CheckedExpr
}

/** Groups are gone: the tree's shape already says how the parts combine. */
export type CheckedExpr = CheckedLogical | CheckedCompare
