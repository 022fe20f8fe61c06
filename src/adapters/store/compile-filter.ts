import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type {
  CheckedCompare,
  CheckedExpr,
  CheckedField,
  CheckedOperand,
  FieldStep,
  OperandType,
} from '../../core/filter/check.js'
import {
  coerceValue,
  digValue,
  readRequestValue,
  type FilterValues,
} from './compile-filter-values.js'

export type { FilterValues } from './compile-filter-values.js'

export interface CompileContext {
  dialect: 'sqlite' | 'postgres'
  /** Table alias of the filtered collection in the outer query (not `t<n>`/`j<n>`: ours). */
  alias: string
  values: FilterValues
}

type Sql = RawBuilder<unknown>

/** Rows that produce one operand's values: `select <value> from <from…> where <where…>`. */
interface ValueSet {
  from: Sql[]
  where: Sql[]
  value: Sql
}

type Compiled = { kind: 'scalar'; sql: Sql } | { kind: 'set'; set: ValueSet }

/**
 * What `@request.auth.id` is compared as when it meets ids of another collection: record ids
 * are `[A-Za-z0-9_-]{1,64}`, so no stored id or relation value can equal (or contain) it.
 */
const FOREIGN_CALLER = 'caller of another collection'

/** The collection whose record ids an operand holds: a relation's target, or an `id` column's. */
function identifiedCollection(operand: CheckedOperand): string | undefined {
  // `:lower` keeps an id an id (generated ids are lower case): `owner:lower` still names one.
  if (operand.kind === 'request') {
    return operand.modifier === undefined || operand.modifier === 'lower'
      ? operand.identifies
      : undefined
  }
  if (operand.kind !== 'field' || operand.modifier === 'length') return undefined
  const last = operand.steps[operand.steps.length - 1] as FieldStep
  if (last.field === 'id') return last.collection
  return last.relation
}

const ORDERING: Record<string, Sql> = {
  '>': sql.raw('>'),
  '>=': sql.raw('>='),
  '<': sql.raw('<'),
  '<=': sql.raw('<='),
}

// Identifiers come only from the checked schema and are quoted with sql.id; every value is a
// bound parameter. The few SQL literals below ('', '[]', '\') are constants of this file.
const BACKSLASH = sql.raw(`'\\'`)
const TWO_BACKSLASHES = sql.raw(`'\\\\'`)
const ESCAPED_UNDERSCORE = sql.raw(`'\\_'`)

/**
 * Compiles a checked filter or rule into a boolean SQL expression on `alias`, for a `where`.
 * Multi-valued operands: a plain operator must hold for every value and there must be one;
 * the `?` form for at least one. Relation paths become correlated subqueries.
 *
 * @example
 *   compileFilter(checkFilter(parseFilter('author.name ~ "ann"'), ctx), { dialect: 'sqlite', alias: 'r', values })
 *   // (coalesce((select "t1"."name" from "users" as "t1" where "t1"."id" = "r"."author"), '')
 *   //   like ('%' || replace(replace(coalesce(?, ''), '\', '\\'), '_', '\_') || '%') escape '\')
 *   compileFilter(checkFilter(parseFilter('tags ?= "news"'), ctx), { dialect: 'sqlite', alias: 'r', values })
 *   // exists (select 1 from json_each(nullif("r"."tags", '')) as "j1"
 *   //   where (coalesce("j1"."value", '') = coalesce(?, '')))
 */
export function compileFilter(checked: CheckedExpr, ctx: CompileContext): RawBuilder<SqlBool> {
  return new FilterCompiler(ctx).compile(checked) as RawBuilder<SqlBool>
}

class FilterCompiler {
  #ctx: CompileContext
  #aliases = 0

  constructor(ctx: CompileContext) {
    this.#ctx = ctx
  }

  compile(expr: CheckedExpr): Sql {
    if (expr.kind === 'compare') return this.#compare(expr)
    const left = this.compile(expr.left)
    const right = this.compile(expr.right)
    return expr.kind === 'and' ? sql`(${left} and ${right})` : sql`(${left} or ${right})`
  }

  #compare(checked: CheckedCompare): Sql {
    if (this.#readsUnboundAuth(checked)) return sql`(1 = 0)`
    const expr = this.#withCallerIdentity(checked)
    if (expr.left.type === 'null' || expr.right.type === 'null') return this.#compareNull(expr)
    const left = this.#operand(expr.left, expr.type)
    const right = this.#operand(expr.right, expr.type)
    const isTilde = expr.op === '~' || expr.op === '!~'
    if (isTilde && !expr.any && left.kind === 'set') {
      // QUERY-LANGUAGE.md: on multi-valued fields ~ means "contains this element".
      const pairs = combineSets([left, right])
      const contains = this.#exists(pairs.from, [
        ...pairs.where,
        this.#equal(expr.type, pairs.values[0], pairs.values[1]),
      ])
      return expr.op === '~' ? contains : sql`not ${contains}`
    }
    if (left.kind === 'scalar' && right.kind === 'scalar') {
      // Against a value known to be non-empty, `coalesce(x, '') = coalesce(?, '')` means
      // exactly `x = ?`, and only the plain form lets the database use an index on x (the
      // owner rule `author = @request.auth.id` on every list). A NULL x makes it NULL rather
      // than false, which no enclosing scalar condition negates.
      if (
        expr.op === '=' &&
        expr.type === 'text' &&
        (this.#isKnownNonEmpty(expr.left) || this.#isKnownNonEmpty(expr.right))
      ) {
        return sql`(${left.sql} = ${right.sql})`
      }
      return this.#condition(expr, left.sql, right.sql)
    }
    const pairs = combineSets([left, right])
    const condition = this.#condition(expr, pairs.values[0], pairs.values[1])
    if (expr.any) return this.#exists(pairs.from, [...pairs.where, condition])
    // Every value must pass, and an empty set passes nothing (safe by default).
    const nonEmpty = [left, right].flatMap((side) =>
      side.kind === 'set' ? [this.#exists(side.set.from, side.set.where)] : [],
    )
    const violated = this.#exists(pairs.from, [
      ...pairs.where,
      sql`not coalesce(${condition}, false)`,
    ])
    return sql`(${sql.join([...nonEmpty, sql`not ${violated}`], sql` and `)})`
  }

  /**
   * An anonymous caller's `@request.auth.*` is unbound, not empty: a comparison reading it is
   * false, so `author = @request.auth.id` can never match records whose author is empty. Only a
   * comparison with the literal `""` or `null` sees it as empty, which is how a rule asks
   * "signed in?" (`@request.auth.id != ""`). The language has no negation, so turning a
   * comparison false can only narrow what a rule grants: safe by construction.
   */
  #readsUnboundAuth(expr: CheckedCompare): boolean {
    const isAuth = (o: CheckedOperand) =>
      (o.kind === 'request' && o.source === 'auth') ||
      (o.kind === 'field' && o.root.kind === 'auth')
    const other = isAuth(expr.left) ? expr.right : isAuth(expr.right) ? expr.left : undefined
    // Only a comparison that reads the caller looks at the caller: a statement compiled for a
    // filter that never names it is the same for everyone (see page-query-cache.ts).
    if (other === undefined || this.#ctx.values.auth !== null) return false
    return !(other.kind === 'literal' && (other.value === null || other.value === ''))
  }

  /**
   * A caller is its collection AND its id: two auth collections may hold the same id. When
   * `@request.auth.id` meets a value that identifies records of another collection (a relation
   * to it, its `id`, `@request.body.<relation>`), the caller's id is compared as a value no
   * record id can equal, so `owner = @request.auth.id` never holds for a same-id caller of
   * another collection, and `owner != @request.auth.id` does.
   */
  #withCallerIdentity(expr: CheckedCompare): CheckedCompare {
    const left = this.#callerCollection(expr.left)
    const right = this.#callerCollection(expr.right)
    if (left === undefined && right === undefined) return expr
    const other = left !== undefined ? expr.right : expr.left
    const caller = (left ?? right) as string
    const identifies = identifiedCollection(other)
    if (identifies === undefined || identifies === caller) return expr
    const foreign: CheckedOperand = {
      kind: 'literal',
      value: FOREIGN_CALLER,
      type: 'text',
      multi: false,
      pos: expr.pos,
    }
    return left !== undefined ? { ...expr, left: foreign } : { ...expr, right: foreign }
  }

  /**
   * For an `@request.auth.id` operand (`:lower` included), the caller's collection name; else
   * undefined. A caller whose collection is not known compares as nobody's (fails closed).
   */
  #callerCollection(operand: CheckedOperand): string | undefined {
    if (operand.kind !== 'field' && operand.kind !== 'request') return undefined
    if (operand.modifier !== undefined && operand.modifier !== 'lower') return undefined
    if (operand.kind === 'field') {
      const [step] = operand.steps
      return operand.root.kind === 'auth' && operand.steps.length === 1 && step?.field === 'id'
        ? step.collection
        : undefined
    }
    if (operand.source !== 'auth' || operand.path.length !== 1 || operand.path[0] !== 'id') {
      return undefined
    }
    const name = digValue(this.#ctx.values.auth ?? {}, ['collectionName'])
    return typeof name === 'string' ? name : ''
  }

  /** A literal or request value that is a non-empty string once bound as text. */
  #isKnownNonEmpty(operand: CheckedOperand): boolean {
    let value: unknown
    if (operand.kind === 'literal') value = operand.value
    else if (operand.kind === 'request') value = readRequestValue(operand, this.#ctx.values)
    else if (
      operand.kind === 'field' &&
      operand.root.kind === 'auth' &&
      operand.steps.length === 1 &&
      !operand.modifier
    ) {
      // `@request.auth.id` checked against the caller's auth collection: a bound value too.
      value = digValue(this.#ctx.values.auth ?? {}, [operand.steps[0]?.field ?? ''])
    } else return false
    return typeof value === 'string' && value !== ''
  }

  /** `x = null` is "x is empty"; on a multi-valued x, "has no non-empty value". */
  #compareNull(expr: CheckedCompare): Sql {
    const other = expr.left.type === 'null' ? expr.right : expr.left
    const wantsEmpty = expr.op === '='
    if (other.type === 'null') return wantsEmpty ? sql`(1 = 1)` : sql`(1 = 0)`
    const compiled = this.#operand(other, expr.type)
    if (compiled.kind === 'scalar') {
      const empty = this.#isEmpty(compiled.sql, expr.type)
      return wantsEmpty ? empty : sql`not ${empty}`
    }
    const { from, where, value } = compiled.set
    const empty = this.#isEmpty(value, expr.type)
    if (expr.any) return this.#exists(from, [...where, wantsEmpty ? empty : sql`not ${empty}`])
    const hasValue = this.#exists(from, [...where, sql`not ${empty}`])
    return wantsEmpty ? sql`not ${hasValue}` : hasValue
  }

  #condition(expr: CheckedCompare, left: Sql, right: Sql): Sql {
    switch (expr.op) {
      case '=':
        return this.#equal(expr.type, left, right)
      case '!=':
        return sql`not ${this.#equal(expr.type, left, right)}`
      case '~':
        return this.#like(left, right)
      case '!~':
        return sql`not ${this.#like(left, right)}`
      default: {
        const op = ORDERING[expr.op] as Sql
        if (expr.type === 'number') return sql`(${left} ${op} ${right})`
        // Dates: an empty stored date is before nothing and after nothing.
        if (expr.type === 'date') return sql`(nullif(${left}, '') ${op} nullif(${right}, ''))`
        // Byte order on both: PostgreSQL would otherwise use the database's locale collation.
        const collate = this.#ctx.dialect === 'postgres' ? sql` collate "C"` : sql``
        return sql`(coalesce(${left}, '')${collate} ${op} coalesce(${right}, '')${collate})`
      }
    }
  }

  /** Equality that never yields NULL: empty text equals empty text, NULL numbers equal NULL. */
  #equal(type: OperandType, left: Sql, right: Sql): Sql {
    if (type === 'number' || type === 'bool') {
      return this.#ctx.dialect === 'sqlite'
        ? sql`(${left} is ${right})`
        : sql`(${left} is not distinct from ${right})`
    }
    return sql`(coalesce(${left}, '') = coalesce(${right}, ''))`
  }

  /** Case-insensitive "contains"; `%` stays a wildcard, `_` and `\` are literal. */
  #like(left: Sql, right: Sql): Sql {
    const escaped = sql`replace(replace(coalesce(${right}, ''), ${BACKSLASH}, ${TWO_BACKSLASHES}), '_', ${ESCAPED_UNDERSCORE})`
    const pattern = sql`('%' || ${escaped} || '%')`
    // SQLite's LIKE folds ASCII case only; PostgreSQL's ILIKE folds all of Unicode.
    const like = this.#ctx.dialect === 'sqlite' ? sql`like` : sql`ilike`
    return sql`(coalesce(${left}, '') ${like} ${pattern} escape ${BACKSLASH})`
  }

  #isEmpty(value: Sql, type: OperandType): Sql {
    if (type === 'number' || type === 'bool') return sql`(${value} is null)`
    return sql`(${value} is null or ${value} = '')`
  }

  #exists(from: Sql[], where: Sql[]): Sql {
    const condition = where.length === 0 ? sql`1 = 1` : sql.join(where, sql` and `)
    return sql`exists (select 1 from ${sql.join(from, sql`, `)} where ${condition})`
  }

  #operand(operand: CheckedOperand, type: OperandType): Compiled {
    switch (operand.kind) {
      case 'literal':
        return { kind: 'scalar', sql: this.#bind(operand.value, type) }
      case 'now':
        return { kind: 'scalar', sql: this.#bind(this.#ctx.values.now, type) }
      case 'request': {
        const value = readRequestValue(operand, this.#ctx.values)
        return Array.isArray(value)
          ? { kind: 'set', set: this.#boundSet(value, type) }
          : { kind: 'scalar', sql: this.#bind(value, type) }
      }
      case 'field':
        return operand.multi
          ? { kind: 'set', set: this.#fieldSet(operand) }
          : { kind: 'scalar', sql: this.#fieldScalar(operand) }
    }
  }

  /** A single-valued path: a column, or nested scalar subqueries along single relations. */
  #fieldScalar(field: CheckedField): Sql {
    const [first, ...rest] = field.steps as [FieldStep, ...FieldStep[]]
    let value =
      field.root.kind === 'auth'
        ? this.#authValue(first, rest.length === 0 ? field : undefined)
        : this.#column(this.#ctx.alias, first, rest.length === 0 ? field : undefined)
    let previous = first
    for (const [index, step] of rest.entries()) {
      const alias = this.#alias('t')
      const target = this.#column(alias, step, index === rest.length - 1 ? field : undefined)
      value = sql`(select ${target} from ${sql.table(previous.relation ?? '')} as ${sql.id(alias)} where ${sql.ref(`${alias}.id`)} = ${value})`
      previous = step
    }
    // A missing related record has no values: its length is 0, not NULL.
    return field.modifier === 'length' && rest.length > 0 ? sql`coalesce(${value}, 0)` : value
  }

  /** A multi-valued path: joins along relations, expanding JSON arrays into rows. */
  #fieldSet(field: CheckedField): ValueSet {
    const from: Sql[] = []
    const where: Sql[] = []
    let row = this.#ctx.alias
    if (field.root.kind === 'collection') {
      row = this.#alias('t')
      from.push(sql`${sql.table(field.root.name)} as ${sql.id(row)}`)
    }
    const steps = field.steps
    for (const [index, step] of steps.entries()) {
      const isLast = index === steps.length - 1
      const expands = step.multi && !(isLast && field.modifier === 'length')
      const final = isLast && !expands ? field : undefined
      const value =
        field.root.kind === 'auth' && index === 0
          ? this.#authValue(step, final, expands)
          : this.#column(row, step, final)
      let element = value
      if (expands) {
        const alias = this.#alias('j')
        from.push(this.#jsonEach(value, alias))
        element = sql.ref(`${alias}.value`)
      }
      if (isLast) {
        const out = expands && field.modifier === 'lower' ? sql`lower(${element})` : element
        return { from, where, value: out }
      }
      row = this.#alias('t')
      from.push(sql`${sql.table(step.relation ?? '')} as ${sql.id(row)}`)
      where.push(sql`${sql.ref(`${row}.id`)} = ${element}`)
    }
    throw new Error('unreachable: a checked path has at least one step')
  }

  /** The column of `step` on `alias`, with the path's modifier when it is the final step. */
  #column(alias: string, step: FieldStep, final: CheckedField | undefined): Sql {
    const column = sql.ref(`${alias}.${step.field}`)
    if (final?.modifier === 'length') return this.#jsonLength(column)
    if (final?.modifier === 'lower') return sql`lower(${column})`
    return column
  }

  /** `@request.auth.<field>` checked against the auth collection: a bound value of its type. */
  #authValue(step: FieldStep, final: CheckedField | undefined, asJson = false): Sql {
    const raw = digValue(this.#ctx.values.auth ?? {}, [step.field])
    const list = Array.isArray(raw)
      ? raw
      : raw === null || typeof raw !== 'string' || raw === ''
        ? []
        : [raw]
    if (asJson) return this.#bind(JSON.stringify(list.map(String)), 'text')
    if (final?.modifier === 'length') return this.#bind(list.length, 'number')
    if (final?.modifier === 'lower')
      return this.#bind(typeof raw === 'string' ? raw.toLowerCase() : raw, 'text')
    return this.#bind(raw, step.relation !== undefined && final === undefined ? 'text' : step.kind)
  }

  /** A request array as rows, each element converted to the compared type. */
  #boundSet(values: unknown[], type: OperandType): ValueSet {
    const alias = this.#alias('j')
    const json = JSON.stringify(values.map((value) => coerceValue(value, type)))
    const element = sql.ref(`${alias}.value`)
    return {
      from: [this.#jsonEach(this.#bind(json, 'text'), alias)],
      where: [],
      // json_array_elements_text yields text; SQLite's json_each keeps JSON's own types.
      value: this.#ctx.dialect === 'postgres' ? this.#cast(element, type) : element,
    }
  }

  #jsonEach(json: Sql, alias: string): Sql {
    return this.#ctx.dialect === 'sqlite'
      ? sql`json_each(nullif(${json}, '')) as ${sql.id(alias)}`
      : sql`json_array_elements_text(cast(nullif(${json}, '') as json)) as ${sql.id(alias)}(${sql.id('value')})`
  }

  #jsonLength(json: Sql): Sql {
    const array = sql`coalesce(nullif(${json}, ''), '[]')`
    return this.#ctx.dialect === 'sqlite'
      ? sql`json_array_length(${array})`
      : sql`json_array_length(cast(${array} as json))`
  }

  /** A bound parameter of the compared type (PostgreSQL gets an explicit cast). */
  #bind(value: unknown, type: OperandType): Sql {
    const coerced = coerceValue(value, type)
    if (this.#ctx.dialect === 'postgres') return this.#cast(sql.val(coerced), type)
    // better-sqlite3 binds no booleans; bool columns hold 0/1.
    return sql.val(typeof coerced === 'boolean' ? Number(coerced) : coerced)
  }

  #cast(value: Sql, type: OperandType): Sql {
    if (type === 'number') return sql`cast(${value} as double precision)`
    if (type === 'bool') return sql`cast(${value} as boolean)`
    return sql`cast(${value} as text)`
  }

  #alias(prefix: string): string {
    return `${prefix}${++this.#aliases}`
  }
}

/** The cross product of the operands' sets, with each side's value (scalars pass through). */
function combineSets(sides: Compiled[]): { from: Sql[]; where: Sql[]; values: [Sql, Sql] } {
  const from = sides.flatMap((side) => (side.kind === 'set' ? side.set.from : []))
  const where = sides.flatMap((side) => (side.kind === 'set' ? side.set.where : []))
  const [left, right] = sides.map((side) => (side.kind === 'set' ? side.set.value : side.sql))
  return { from, where, values: [left as Sql, right as Sql] }
}
