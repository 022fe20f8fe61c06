import type { RawBuilder } from 'kysely'
import type { DynamicDb } from './dynamic-db.js'
import type { Dialect } from './store.js'

const texts = new Map<string, string>()

/**
 * The SQL text of a statement on the engine's own tables, whose shape never changes: built and
 * compiled once per dialect, then run with fresh bound values (the values given to `build` only
 * hold the places). The dispatcher and the schema check run these on every round.
 *
 * @example
 *   const text = fixedSql(db, 'sqlite', 'get-setting', () => sql`select … where key = ${''}`)
 */
export function fixedSql(
  db: DynamicDb,
  dialect: Dialect,
  name: string,
  build: () => RawBuilder<unknown>,
): string {
  const key = `${dialect}:${name}`
  let text = texts.get(key)
  if (text === undefined) texts.set(key, (text = build().compile(db).sql))
  return text
}
