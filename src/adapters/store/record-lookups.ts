import { sql, type RawBuilder } from 'kysely'
import type { CollectionDef } from '../../core/schema/types.js'
import type { DialectAdapter } from './dialect-adapter.js'
import type { DynamicDb } from './dynamic-db.js'
import { toSession } from './kysely-auth-store.js'
import { recordCodec } from './record-codec.js'
import { RECORD_ALIAS } from './record-sql.js'
import type { ReadRows, RunWrite } from './kysely-store.js'
import type { Row, SessionRow } from './store.js'

/**
 * The hottest lookups as SQL text compiled once per collection definition, then run with fresh
 * bound values. A definition is immutable (a schema change makes a new object), so the
 * WeakMap key is the collection's version and a changed table never sees stale SQL. Building and
 * compiling a Kysely query costs more than SQLite's primary-key read it describes; this skips it.
 */
const compiled = new WeakMap<CollectionDef, Map<string, string>>()

/** Statements remembered per collection (writes vary by column set); past it, SQL is built. */
const MAX_STATEMENTS_PER_COLLECTION = 64

function sqlFor(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  name: string,
  build: () => RawBuilder<unknown>,
): string {
  let byName = compiled.get(collection)
  if (!byName) compiled.set(collection, (byName = new Map()))
  const key = `${adapter.dialect}:${name}`
  let text = byName.get(key)
  if (text !== undefined) return text
  text = build().compile(db).sql
  if (byName.size < MAX_STATEMENTS_PER_COLLECTION) byName.set(key, text)
  return text
}

/**
 * `insert into <collection> (<columns>) values (?, …)` for one encoded row. The columns are the
 * row's keys, which the codec takes from the collection's fields; the SQL text is kept per
 * collection version and column set. On PostgreSQL, `returning *` hands the stored row back in
 * the same round trip (decoded); on SQLite, where a read is an in-process call, it is undefined.
 */
export async function insertOne(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  encoded: Row,
  run: RunWrite,
  read: ReadRows,
): Promise<Row | undefined> {
  const columns = Object.keys(encoded)
  const returning = adapter.dialect === 'postgres'
  const build = () =>
    sql`insert into ${sql.table(collection.name)} (${sql.join(columns.map((c) => sql.id(c)))})
      values (${sql.join(columns.map((c) => sql`${encoded[c]}`))})
      ${returning ? sql`returning *` : sql``}`
  const text = sqlFor(db, adapter, collection, `insert:${columns.join('\n')}`, build)
  const values = columns.map((c) => encoded[c])
  if (!returning) {
    await run(text, values)
    return undefined
  }
  const [row] = await read(text, values)
  return row ? recordCodec(collection, adapter).decode(row) : undefined
}

/**
 * PostgreSQL: one encoded row and its change event (`event`: the outbox columns, see
 * `appendChanges`) in one statement, a data-modifying CTE run on its own, so that the write is
 * atomic with no BEGIN or COMMIT round trip; the event waits in `_outbox_pending` like any
 * other. Nothing is returned: the stored row is what the codec says an insert of `encoded`
 * stores (`Codec.stored`, the row the event already carries), so no row description or data
 * row crosses the wire to be parsed and decoded again.
 */
export async function insertOneWithChange(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  encoded: Row,
  event: readonly unknown[],
  run: RunWrite,
): Promise<void> {
  const columns = Object.keys(encoded)
  const eventColumns = ['collection', 'record_id', 'action', 'record', 'created', 'actor']
  const build = () =>
    sql`with ${sql.id('written')} as (
        insert into ${sql.table(collection.name)} (${sql.join(columns.map((c) => sql.id(c)))})
        values (${sql.join(columns.map((c) => sql`${encoded[c]}`))})
      )
      insert into ${sql.table('_outbox_pending')} (${sql.join(eventColumns.map((c) => sql.id(c)))})
      values (${sql.join(eventColumns.map(() => sql`${''}`))})`
  const text = sqlFor(db, adapter, collection, `insert-alone:${columns.join('\n')}`, build)
  const written = await run(text, [...columns.map((c) => encoded[c]), ...event])
  if (written !== 1) throw new Error(`insert into "${collection.name}" wrote no event`)
}

/**
 * `update <collection> set <column> = ?, … where id = ?` for one encoded row, SQL kept per
 * collection version and column set like `insertOne`. Returns the number of rows changed.
 */
export async function updateOne(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  id: string,
  encoded: Row,
  run: RunWrite,
): Promise<number> {
  const columns = Object.keys(encoded)
  const build = () =>
    sql`update ${sql.table(collection.name)}
      set ${sql.join(columns.map((c) => sql`${sql.id(c)} = ${encoded[c]}`))}
      where ${sql.ref('id')} = ${id}`
  const text = sqlFor(db, adapter, collection, `update:${columns.join('\n')}`, build)
  return run(text, [...columns.map((c) => encoded[c]), id])
}

/** `select * from <collection> where id = ?`: one record by id, decoded. */
export async function selectOneById(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  id: string,
  read: ReadRows,
): Promise<Row | undefined> {
  const text = sqlFor(
    db,
    adapter,
    collection,
    'by-id',
    () => sql`select * from ${sql.table(collection.name)} where ${sql.ref('id')} = ${''}`,
  )
  const [row] = await read(text, [id])
  return row ? recordCodec(collection, adapter).decode(row) : undefined
}

/** `select * from <collection> where id in (<list>)`: records by id, decoded, in no order. */
export async function selectManyByIds(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  ids: readonly string[],
  read: ReadRows,
): Promise<Row[]> {
  const text = sqlFor(
    db,
    adapter,
    collection,
    'by-ids',
    () =>
      sql`select * from ${sql.table(collection.name)} where ${adapter.inList(sql.ref('id'), '')}`,
  )
  const codec = recordCodec(collection, adapter)
  return (await read(text, [adapter.listParameter(ids)])).map((row) => codec.decode(row))
}

/** Session columns, aliased so they cannot collide with a field (no field name has a colon). */
const SESSION_COLUMNS = [
  'id',
  'collection_id',
  'record_id',
  'token_key',
  'created',
  'last_used',
  'expires',
  'revoked',
  'user_agent',
  'ip',
] as const
const SESSION_PREFIX = 'er:session:'

/**
 * The auth record `recordId` and its session `sessionId`, in one statement: a request with an
 * access token needs both, fresh (the auth service keeps the result for a second at most, see
 * caller-cache.ts), so that revocation and password changes act at once.
 *
 * ```sql
 * select r.*, s.id as "er:session:id", … from users as r
 *   join _auth_sessions as s on s.record_id = r.id where r.id = ? and s.id = ?
 * ```
 */
export async function selectSessionCaller(
  db: DynamicDb,
  adapter: DialectAdapter,
  collection: CollectionDef,
  recordId: string,
  sessionId: string,
  read: ReadRows,
): Promise<{ row: Row; session: SessionRow } | undefined> {
  const text = sqlFor(db, adapter, collection, 'session-caller', () => {
    const sessionColumns = SESSION_COLUMNS.map(
      (column) => sql`${sql.ref(`s.${column}`)} as ${sql.id(SESSION_PREFIX + column)}`,
    )
    return sql`select ${sql.ref(RECORD_ALIAS)}.*, ${sql.join(sessionColumns)}
      from ${sql.table(collection.name)} as ${sql.id(RECORD_ALIAS)}
      join ${sql.table('_auth_sessions')} as ${sql.id('s')}
        on ${sql.ref('s.record_id')} = ${sql.ref(`${RECORD_ALIAS}.id`)}
      where ${sql.ref(`${RECORD_ALIAS}.id`)} = ${''} and ${sql.ref('s.id')} = ${''}`
  })
  const [row] = await read(text, [recordId, sessionId])
  if (!row) return undefined
  const sessionRow: Row = {}
  for (const column of SESSION_COLUMNS) {
    sessionRow[column] = row[SESSION_PREFIX + column]
    delete row[SESSION_PREFIX + column]
  }
  return { row: recordCodec(collection, adapter).decode(row), session: toSession(sessionRow) }
}
