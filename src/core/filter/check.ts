import { resolveFields, type ResolvedField } from '../schema/field-info.js'
import type { CollectionDef } from '../schema/types.js'
import type { CompareExpr, Expr, Modifier, Operand } from './ast.js'
import type {
  CheckedCompare,
  CheckedExpr,
  CheckedField,
  CheckedOperand,
  CheckedRequestValue,
  FieldRoot,
  FieldStep,
  OperandType,
} from './checked.js'
import { createFilterError } from './filter-error.js'
import { normalizeDate } from './normalize-date.js'

export type * from './checked.js'

/** Relation hops a path may take (`a.b.c.field` is three). */
export const MAX_RELATION_HOPS = 3

/** Fields no filter or rule may name, whatever the mode: they hold secrets. */
const SECRET_FIELDS = new Set(['password', 'tokenKey'])

/** `@request.auth.collectionName` / `.collectionId`: the caller's auth collection. */
const AUTH_META = new Set(['collectionName', 'collectionId'])

export interface CheckContext {
  /** The collection whose records the expression is about. */
  collection: CollectionDef
  findCollection(name: string): CollectionDef | undefined
  /** `filter`: a client's `?filter=`; `rule`: an access rule written by a superuser. */
  mode: 'filter' | 'rule'
  /** When given, `@request.auth.<field>` is checked (and typed) against it. */
  authCollection?: CollectionDef
  /**
   * Whether a relation hop or `@collection` may reach this collection (the caller may list it).
   * A refusal reads as an unknown field, so the schema of hidden collections does not leak.
   */
  canTraverse?(collection: CollectionDef): boolean
}

/**
 * Resolves every path of a parsed filter against the live schema and checks operator and
 * types (QUERY-LANGUAGE.md, "Meaning"). Throws ER_FILTER_UNKNOWN_FIELD, ER_FILTER_TYPE_MISMATCH,
 * ER_FILTER_LIMIT (relation hops) or ER_FILTER_MACRO_NOT_ALLOWED, each naming the position.
 *
 * @example
 *   checkFilter(parseFilter('author.name ~ "ann"'), { collection: posts, findCollection, mode: 'filter' })
 *   // { kind: 'compare', op: '~', type: 'text', left: { kind: 'field', steps: [author→users, name], … }, … }
 */
export function checkFilter(expr: Expr, ctx: CheckContext): CheckedExpr {
  switch (expr.kind) {
    case 'group':
      return checkFilter(expr.expr, ctx)
    case 'and':
    case 'or':
      return {
        kind: expr.kind,
        left: checkFilter(expr.left, ctx),
        right: checkFilter(expr.right, ctx),
      }
    case 'compare':
      return checkCompare(expr, ctx)
  }
}

function checkCompare(expr: CompareExpr, ctx: CheckContext): CheckedCompare {
  const rawLeft = checkOperand(expr.left, ctx)
  const rawRight = checkOperand(expr.right, ctx)
  const left = coerceDateLiteral(rawLeft, rawRight)
  const right = coerceDateLiteral(rawRight, rawLeft)
  const type = resolveCompareType(expr, left, right)
  return { kind: 'compare', op: expr.op, any: expr.any, left, right, type, pos: expr.pos }
}

function resolveCompareType(
  expr: CompareExpr,
  left: CheckedOperand,
  right: CheckedOperand,
): OperandType {
  const { op } = expr
  const mismatch = (message: string) =>
    createFilterError('ER_FILTER_TYPE_MISMATCH', expr.pos, message)
  const isEquality = op === '=' || op === '!='
  if (left.type === 'null' || right.type === 'null') {
    if (!isEquality) throw mismatch(`null can only be compared with = or != (found ${op})`)
    const other = left.type === 'null' ? right.type : left.type
    return other === 'null' ? 'any' : other
  }
  const type =
    left.type === 'any'
      ? right.type
      : right.type === 'any' || left.type === right.type
        ? left.type
        : undefined
  if (type === undefined) {
    throw mismatch(`cannot compare ${left.type} with ${right.type} using ${op}`)
  }
  if (op === '~' || op === '!~') {
    if (type !== 'text' && type !== 'any') {
      throw mismatch(`${op} needs text on both sides, found ${type}`)
    }
    // Plain ~ on a multi-valued field means "contains this element": one element to look for.
    if (!expr.any && left.multi && right.multi) {
      throw mismatch(`${op} on a multi-valued field needs a single value on the right`)
    }
  } else if (!isEquality && (type === 'bool' || type === 'json')) {
    throw mismatch(`${op} does not apply to ${type} values`)
  }
  if (type === 'json') throw mismatch('json fields can only be compared with null')
  return type
}

/** A string literal compared with a date becomes a normalised date, or is a mismatch. */
function coerceDateLiteral(operand: CheckedOperand, other: CheckedOperand): CheckedOperand {
  if (operand.kind !== 'literal' || typeof operand.value !== 'string' || other.type !== 'date') {
    return operand
  }
  const value = normalizeDate(operand.value)
  if (value === undefined) {
    throw createFilterError(
      'ER_FILTER_TYPE_MISMATCH',
      operand.pos,
      `${JSON.stringify(operand.value)} is not a date; write ISO 8601 such as "2026-01-02 10:00:00"`,
    )
  }
  return { ...operand, value, type: 'date' }
}

function checkOperand(operand: Operand, ctx: CheckContext): CheckedOperand {
  const pos = operand.pos
  if ('modifier' in operand && (operand.modifier === 'isset' || operand.modifier === 'changed')) {
    if (ctx.mode === 'filter') throw notAllowed(pos, `:${operand.modifier}`)
    if (operand.kind !== 'body') {
      throw createFilterError(
        'ER_FILTER_TYPE_MISMATCH',
        pos,
        `:${operand.modifier} applies only to @request.body fields`,
      )
    }
  }
  switch (operand.kind) {
    case 'literal':
      return {
        kind: 'literal',
        value: operand.value,
        type: literalType(operand.value),
        multi: false,
        pos,
      }
    case 'now':
      return { kind: 'now', type: 'date', multi: false, pos }
    case 'query':
      return {
        kind: 'request',
        source: 'query',
        path: [operand.name],
        type: 'any',
        multi: false,
        pos,
      }
    case 'path':
      return resolvePath(
        ctx,
        ctx.collection,
        { kind: 'record' },
        operand.segments,
        operand.modifier,
        pos,
        0,
      )
    case 'collection': {
      const target = ctx.findCollection(operand.collection)
      if (target === undefined || ctx.canTraverse?.(target) === false) {
        throw createFilterError(
          'ER_FILTER_UNKNOWN_FIELD',
          pos,
          `unknown collection ${JSON.stringify(operand.collection)}`,
        )
      }
      const root: FieldRoot = { kind: 'collection', name: target.name }
      const prefix = `@collection.${operand.collection}.`.length
      return resolvePath(ctx, target, root, operand.segments, operand.modifier, pos, prefix)
    }
    case 'auth':
      // Which collection the caller signed in to is not a field of it, but rules may ask.
      if (operand.segments.length === 1 && AUTH_META.has(operand.segments[0] as string)) {
        return checkRequestValue('auth', operand.segments, operand.modifier, 'text', pos)
      }
      if (ctx.authCollection !== undefined) {
        const prefix = '@request.auth.'.length
        const { segments, modifier } = operand
        return resolvePath(
          ctx,
          ctx.authCollection,
          { kind: 'auth' },
          segments,
          modifier,
          pos,
          prefix,
        )
      }
      return checkRequestValue('auth', operand.segments, operand.modifier, 'any', pos)
    case 'body': {
      if (ctx.mode === 'filter') throw notAllowed(pos, '@request.body')
      const [key] = operand.segments
      const field =
        operand.segments.length === 1 && key !== undefined
          ? resolveFields(ctx.collection).get(key)
          : undefined
      // A body key named like a field has that field's type; anything else is typed at run time.
      const type = field === undefined || field.multi ? 'any' : field.kind
      const checked = checkRequestValue('body', operand.segments, operand.modifier, type, pos)
      const identifies =
        operand.modifier !== undefined || field === undefined
          ? undefined
          : field.name === 'id'
            ? ctx.collection.name
            : field.relation
      return identifies === undefined ? checked : { ...checked, identifies }
    }
  }
}

function checkRequestValue(
  source: 'auth' | 'body',
  path: string[],
  modifier: Modifier | undefined,
  type: OperandType,
  pos: number,
): CheckedRequestValue {
  const base = { kind: 'request', source, path, multi: false, pos } as const
  switch (modifier) {
    case undefined:
      return { ...base, type }
    case 'isset':
    case 'changed':
      return { ...base, modifier, type: 'bool' }
    case 'length':
      return { ...base, modifier, type: 'number' }
    case 'lower':
      if (type !== 'text' && type !== 'any') throw lowerMismatch(pos, type)
      return { ...base, modifier, type: 'text' }
  }
}

function resolvePath(
  ctx: CheckContext,
  start: CollectionDef,
  root: FieldRoot,
  segments: string[],
  modifier: Modifier | undefined,
  pos: number,
  prefix: number,
): CheckedField {
  if (segments.length - 1 > MAX_RELATION_HOPS) {
    throw createFilterError(
      'ER_FILTER_LIMIT',
      pos,
      `${segments.join('.')} follows ${segments.length - 1} relations; at most ${MAX_RELATION_HOPS} are allowed`,
    )
  }
  const steps: FieldStep[] = []
  let collection = start
  let offset = pos + prefix
  for (const [index, name] of segments.entries()) {
    const field = resolveFields(collection).get(name)
    if (field === undefined || isHidden(field, ctx)) {
      throw createFilterError(
        'ER_FILTER_UNKNOWN_FIELD',
        offset,
        `unknown field ${JSON.stringify(name)} in collection ${JSON.stringify(collection.name)}`,
      )
    }
    steps.push(toStep(collection, field))
    if (index < segments.length - 1) collection = followRelation(ctx, collection, field, offset)
    offset += name.length + 1
  }
  return finishField(root, steps, modifier, pos)
}

function followRelation(
  ctx: CheckContext,
  from: CollectionDef,
  field: ResolvedField,
  pos: number,
): CollectionDef {
  const target = field.relation === undefined ? undefined : ctx.findCollection(field.relation)
  if (field.relation === undefined) {
    throw createFilterError(
      'ER_FILTER_UNKNOWN_FIELD',
      pos,
      `${JSON.stringify(field.name)} in ${JSON.stringify(from.name)} is not a relation, so no field can follow it`,
    )
  }
  if (target === undefined || ctx.canTraverse?.(target) === false) {
    throw createFilterError(
      'ER_FILTER_UNKNOWN_FIELD',
      pos,
      `relation ${JSON.stringify(field.name)} leads to a collection this filter cannot reach`,
    )
  }
  return target
}

function finishField(
  root: FieldRoot,
  steps: FieldStep[],
  modifier: Modifier | undefined,
  pos: number,
): CheckedField {
  const last = steps[steps.length - 1] as FieldStep
  const viaMulti = root.kind === 'collection' || steps.slice(0, -1).some((step) => step.multi)
  const base = { kind: 'field', root, steps, pos } as const
  if (modifier === 'length') {
    if (!last.multi) {
      throw createFilterError(
        'ER_FILTER_TYPE_MISMATCH',
        pos,
        `:length applies to multi-valued fields; ${JSON.stringify(last.field)} holds one value`,
      )
    }
    return { ...base, modifier, type: 'number', multi: viaMulti }
  }
  if (modifier === 'lower') {
    if (last.kind !== 'text') throw lowerMismatch(pos, last.kind)
    return { ...base, modifier, type: 'text', multi: viaMulti || last.multi }
  }
  return { ...base, type: last.kind, multi: viaMulti || last.multi }
}

function toStep(collection: CollectionDef, field: ResolvedField): FieldStep {
  const step: FieldStep = {
    collection: collection.name,
    field: field.name,
    kind: field.kind,
    multi: field.multi,
  }
  return field.relation === undefined ? step : { ...step, relation: field.relation }
}

/** Secrets are never addressable; user-hidden fields only in rules, which superusers write. */
function isHidden(field: ResolvedField, ctx: CheckContext): boolean {
  if (SECRET_FIELDS.has(field.name) && field.system) return true
  return field.hidden && ctx.mode === 'filter'
}

function literalType(value: string | number | boolean | null): OperandType {
  if (value === null) return 'null'
  if (typeof value === 'string') return 'text'
  return typeof value === 'number' ? 'number' : 'bool'
}

function notAllowed(pos: number, what: string) {
  return createFilterError(
    'ER_FILTER_MACRO_NOT_ALLOWED',
    pos,
    `${what} is only allowed in access rules, not in filters`,
  )
}

function lowerMismatch(pos: number, type: OperandType) {
  return createFilterError('ER_FILTER_TYPE_MISMATCH', pos, `:lower applies to text, not ${type}`)
}
