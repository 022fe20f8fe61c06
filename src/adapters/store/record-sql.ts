import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { compileFilter } from './compile-filter.js'
import type { DialectAdapter } from './dialect-adapter.js'
import type { CheckedExpr, CheckedOperand } from '../../core/filter/checked.js'
import type { Condition, SortTerm } from './store.js'

/** The alias of the collection being queried, as every compiled condition refers to it. */
export const RECORD_ALIAS = 'r'

/** ANDs the conditions; `true` when there are none. */
export function whereClause(
  adapter: DialectAdapter,
  where: readonly Condition[],
): RawBuilder<SqlBool> {
  if (where.length === 0) return sql<SqlBool>`1 = 1`
  const parts = where.map(
    (c) =>
      sql`(${compileFilter(c.expr, { dialect: adapter.dialect, alias: RECORD_ALIAS, values: c.values })})`,
  )
  return sql<SqlBool>`${sql.join(parts, sql` and `)}`
}

/** The SQL value a sort term orders by: a column, or a scalar subquery for `relation.field`. */
export function sortExpression(term: SortTerm): RawBuilder<unknown> {
  const path = term.path
  if ('relation' in path) {
    return sql`(select ${sql.ref(`t.${path.field}`)} from ${sql.table(path.target.name)} as t where ${sql.ref('t.id')} = ${sql.ref(`${RECORD_ALIAS}.${path.relation}`)})`
  }
  return sql.ref(`${RECORD_ALIAS}.${path.field}`)
}

/**
 * ORDER BY with an explicit null placement, the same on both dialects: nulls are the smallest
 * value (first ascending, last descending), which is SQLite's default and not PostgreSQL's.
 */
export function orderByClause(sort: readonly SortTerm[]): RawBuilder<unknown> {
  return sql.join(
    sort.map(
      (term) =>
        sql`${sortExpression(term)} ${sql.raw(term.desc ? 'desc nulls last' : 'asc nulls first')}`,
    ),
  )
}

/**
 * The keyset condition "comes after `after` in this order", treating null as the smallest value
 * to match `orderByClause`. For sort keys k1..kn it expands to
 * `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND …)))`, with the null cases spelled out.
 */
export function keysetCondition(
  sort: readonly SortTerm[],
  after: readonly unknown[],
): RawBuilder<SqlBool> {
  const build = (i: number): RawBuilder<SqlBool> => {
    const term = sort[i] as SortTerm
    const key = sortExpression(term)
    const value = after[i] ?? null
    const last = i === sort.length - 1
    const rest = last ? sql<SqlBool>`1 = 0` : build(i + 1)
    if (!term.desc) {
      return value === null
        ? sql<SqlBool>`(${key} is not null or (${key} is null and ${rest}))`
        : sql<SqlBool>`(${key} > ${value} or (${key} = ${value} and ${rest}))`
    }
    return value === null
      ? sql<SqlBool>`(${key} is null and ${rest})`
      : sql<SqlBool>`(${key} < ${value} or ${key} is null or (${key} = ${value} and ${rest}))`
  }
  return build(0)
}

/** Columns every record has and that are never null. */
const NEVER_NULL = new Set(['id', 'created', 'updated'])

/**
 * A plain range on the first sort key that the keyset condition implies, so an index on it can
 * seek straight to the page instead of scanning from the start of the order (the OR-expanded
 * condition alone cannot be used as an index range, which makes the last page of a large table
 * as slow as a scan). `nullsAfter`: the bound leaves out rows whose first key is null, which in
 * a descending order (nulls last) still come after the page start; the caller reads them
 * separately when the bounded rows do not fill the page. Null when no bound applies (a null
 * start value, or a key that is a relation subquery).
 *
 * - ascending, start `v`: `key >= v` (nulls sort first, so every later row has key ≥ v);
 * - descending, start `v`: `key <= v`, plus the null rows unless the column is never null.
 */
export function keysetSeek(
  sort: readonly SortTerm[],
  after: readonly unknown[],
  where: readonly Condition[],
): { bound: RawBuilder<SqlBool>; nulls: RawBuilder<SqlBool> | null } | null {
  const term = sort[0]
  const value = after[0] ?? null
  if (!term || value === null || 'relation' in term.path) return null
  const neverNull = (t: SortTerm) =>
    !('relation' in t.path) &&
    (NEVER_NULL.has(t.path.field) || where.some((c) => excludesNull(c.expr, t.path.field)))
  // Keys all one way and never null: the keyset is exactly the row-value comparison, which
  // seeks on every key of an index, not just the first (ties on `views` are many).
  if (sort.every((t, i) => t.desc === term.desc && neverNull(t) && (after[i] ?? null) !== null)) {
    const keys = sql.join(sort.map(sortExpression))
    const values = sql.join(after.slice(0, sort.length))
    const op = sql.raw(term.desc ? '<' : '>')
    return { bound: sql<SqlBool>`(${keys}) ${op} (${values})`, nulls: null }
  }
  const key = sortExpression(term)
  if (!term.desc) return { bound: sql<SqlBool>`${key} >= ${value}`, nulls: null }
  const mayBeNull = !neverNull(term)
  return {
    bound: sql<SqlBool>`${key} <= ${value}`,
    nulls: mayBeNull ? sql<SqlBool>`${key} is null` : null,
  }
}

/**
 * Whether `expr`, as a top-level condition, already rejects rows where the record's `field` is
 * null: an AND chain holding a number or date ordering (`views > 100`) of that field against a
 * literal or `@now`. compile-filter.ts compiles those to plain `x > ?` / `nullif(x, '') > ?`,
 * which are NULL (not true) for a null x.
 */
function excludesNull(expr: CheckedExpr, field: string): boolean {
  if (expr.kind === 'and') return excludesNull(expr.left, field) || excludesNull(expr.right, field)
  if (expr.kind !== 'compare' || expr.any || !['<', '<=', '>', '>='].includes(expr.op)) return false
  if (expr.type !== 'number' && expr.type !== 'date') return false
  const isField = (o: CheckedOperand) =>
    o.kind === 'field' &&
    o.root.kind === 'record' &&
    o.steps.length === 1 &&
    o.steps[0]?.field === field &&
    !o.multi &&
    o.modifier === undefined
  const isConstant = (o: CheckedOperand) =>
    (o.kind === 'literal' && o.value !== null) || o.kind === 'now'
  return (
    (isField(expr.left) && isConstant(expr.right)) || (isField(expr.right) && isConstant(expr.left))
  )
}
