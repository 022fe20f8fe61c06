import type { CheckedCompare, CheckedExpr, CheckedOperand, FieldStep } from './checked.js'

/**
 * A kind of caller, known without its record: anonymous, or any signed-in record of one auth
 * collection. What a rule can grant a class is the same for each of its members as far as the
 * class can tell, which is what lets per-caller documents be built and cached once per class.
 */
export type CallerClass =
  { kind: 'anonymous' } | { kind: 'auth'; collection: { id: string; name: string } }

/**
 * Whether a checked rule could hold for some record and some caller of the class: `false` only
 * when it is false whatever the records hold and whatever the caller's own field values are.
 * Judged from what the class alone fixes, with the semantics the query compiler gives them:
 *
 * - anonymous: `@request.auth.*` is unbound, so a comparison reading it is false unless it asks
 *   for emptiness (`= ""`, `= null`), and `@request.auth.x != ""` is false too;
 * - signed in: `@request.auth.collectionName` / `collectionId` are the collection's own;
 *   `@request.auth.id` is never empty, and never equals an id of another collection (a caller
 *   is its collection and its id).
 *
 * Anything else may hold: the answer errs on "could", so a collection is never hidden from a
 * caller that a rule might let in.
 *
 * @example
 *   couldGrant(check('owner = @request.auth.id'), { kind: 'anonymous' })          // false
 *   couldGrant(check('@request.auth.collectionName = "staff"'), usersClass)       // false
 *   couldGrant(check('status = "published" || owner = @request.auth.id'), anon)  // true
 */
export function couldGrant(expr: CheckedExpr, caller: CallerClass): boolean {
  return !neverHolds(expr, caller)
}

function neverHolds(expr: CheckedExpr, caller: CallerClass): boolean {
  switch (expr.kind) {
    case 'and':
      return neverHolds(expr.left, caller) || neverHolds(expr.right, caller)
    case 'or':
      return neverHolds(expr.left, caller) && neverHolds(expr.right, caller)
    case 'compare':
      return caller.kind === 'anonymous'
        ? anonymousNeverHolds(expr)
        : signedInNeverHolds(expr, caller.collection)
  }
}

function readsAuth(operand: CheckedOperand): boolean {
  return (
    (operand.kind === 'request' && operand.source === 'auth') ||
    (operand.kind === 'field' && operand.root.kind === 'auth')
  )
}

function isEmptyLiteral(operand: CheckedOperand): boolean {
  return operand.kind === 'literal' && (operand.value === null || operand.value === '')
}

/** The compiler's unbound `@request.auth` (see compile-filter.ts, `#readsUnboundAuth`). */
function anonymousNeverHolds(expr: CheckedCompare): boolean {
  const auth = readsAuth(expr.left) ? expr.left : readsAuth(expr.right) ? expr.right : undefined
  if (auth === undefined) return false
  const other = auth === expr.left ? expr.right : expr.left
  if (!isEmptyLiteral(other)) return true
  // Unbound reads as empty here: `!= ""` and `!= null` cannot hold.
  return expr.op === '!=' && auth.kind === 'request' && auth.modifier === undefined
}

function signedInNeverHolds(
  expr: CheckedCompare,
  collection: { id: string; name: string },
): boolean {
  if (expr.op !== '=' && expr.op !== '!=') return false
  for (const [own, other] of [
    [expr.left, expr.right],
    [expr.right, expr.left],
  ] as const) {
    const meta = authMeta(own)
    if (meta !== undefined && other.kind === 'literal') {
      const value = meta === 'collectionName' ? collection.name : collection.id
      return expr.op === '=' ? other.value !== value : other.value === value
    }
    if (expr.op === '=' && isAuthId(own, collection.name)) {
      // Never empty, and never an id of another collection.
      if (isEmptyLiteral(other)) return true
      const identifies = identifiedCollection(other)
      if (identifies !== undefined && identifies !== collection.name) return true
    }
  }
  return false
}

/** `@request.auth.collectionName` or `.collectionId`, read plainly. */
function authMeta(operand: CheckedOperand): 'collectionName' | 'collectionId' | undefined {
  if (operand.kind !== 'request' || operand.source !== 'auth' || operand.modifier !== undefined)
    return undefined
  const [name, ...rest] = operand.path
  return rest.length === 0 && (name === 'collectionName' || name === 'collectionId')
    ? name
    : undefined
}

/** `@request.auth.id` checked against the caller's own auth collection. */
function isAuthId(operand: CheckedOperand, collection: string): boolean {
  if (operand.kind !== 'field' || operand.root.kind !== 'auth' || operand.modifier !== undefined)
    return false
  const [step, ...rest] = operand.steps
  return rest.length === 0 && step?.field === 'id' && step.collection === collection
}

/** The collection whose ids a record operand holds: a relation's target, or an `id` column's. */
function identifiedCollection(operand: CheckedOperand): string | undefined {
  if (operand.kind !== 'field' || operand.root.kind === 'auth' || operand.modifier !== undefined)
    return undefined
  const last = operand.steps[operand.steps.length - 1] as FieldStep
  return last.field === 'id' ? last.collection : last.relation
}
