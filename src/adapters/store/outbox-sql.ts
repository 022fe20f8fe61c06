import { sql } from 'kysely'
import type { DialectAdapter } from './dialect-adapter.js'
import type { DynamicDb } from './dynamic-db.js'
import { fixedSql } from './fixed-sql.js'
import type { ReadRows, RunWrite } from './kysely-store.js'
import type { ChangeActor, ChangeEvent, ChangeInput, Dialect, OutboxBounds } from './store.js'

/**
 * Writes change events to the outbox inside the caller's transaction, just before it commits.
 *
 * Ids are `max(id) + 1, + 2 …`, allocated by one writer at a time, and that writer holds its
 * turn until it has committed: ids become visible in id order and without gaps. A reader that
 * has seen id N has seen every id below it; a sequence could not promise that on PostgreSQL (a
 * later `nextval` can commit first), nor gap-freedom (a rolled-back `nextval` is never reused).
 * - SQLite has one writer at a time already: the ids are allocated here.
 * - PostgreSQL: the events go to `_outbox_pending` with the write, and are numbered in batches
 *   before the outbox is read (`numberPendingChanges`), so the lock is held by one short commit
 *   per batch, never by each write's commit (which would make writes commit one WAL flush at a
 *   time) nor across a round trip to this process.
 */
export async function appendChanges(
  db: DynamicDb,
  adapter: DialectAdapter,
  changes: readonly ChangeInput[],
  now: string,
  run: RunWrite,
): Promise<void> {
  if (changes.length === 0) return
  if (adapter.numbersPendingChanges) return appendPending(db, changes, now, run)
  if (changes.length === 1) return appendOne(db, adapter, changes[0] as ChangeInput, now, run)
  const last = await db
    .selectFrom('_outbox')
    .select((eb) => eb.fn.max('id').as('last'))
    .executeTakeFirst()
  const base = Number(last?.last ?? 0)
  await db
    .insertInto('_outbox')
    .values(changes.map((change, i) => ({ id: base + i + 1, ...columnsOf(change, now) })))
    .execute()
}

/** An event's columns but its id. */
function columnsOf(change: ChangeInput, now: string) {
  return {
    collection: change.collection,
    record_id: change.recordId,
    action: change.action,
    record: JSON.stringify(change.record),
    created: now,
    actor: change.actor ? JSON.stringify(change.actor) : null,
  }
}

/** PostgreSQL: the events, in order, for `numberPendingChanges` to number once committed. */
async function appendPending(
  db: DynamicDb,
  changes: readonly ChangeInput[],
  now: string,
  run: RunWrite,
): Promise<void> {
  if (changes.length > 1) {
    await db
      .insertInto('_outbox_pending')
      .values(changes.map((change) => columnsOf(change, now)))
      .execute()
    return
  }
  const text = fixedSql(db, 'postgres', 'append-pending-change', () => {
    const columns = ['collection', 'record_id', 'action', 'record', 'created', 'actor']
    return sql`insert into ${sql.table('_outbox_pending')}
      (${sql.join(columns.map((c) => sql.id(c)))}) values (${sql.join(columns.map(() => ''))})`
  })
  const row = columnsOf(changes[0] as ChangeInput, now)
  await run(text, [row.collection, row.record_id, row.action, row.record, row.created, row.actor])
}

/** One change (the common case, a single write) in one statement: id and insert together. */
async function appendOne(
  db: DynamicDb,
  adapter: DialectAdapter,
  change: ChangeInput,
  now: string,
  run: RunWrite,
): Promise<void> {
  const text = fixedSql(db, adapter.dialect, 'append-one-change', () => {
    const value = sql`cast(${''} as text)`
    const columns = ['id', 'collection', 'record_id', 'action', 'record', 'created', 'actor']
    return sql`insert into ${sql.table('_outbox')}
        (${sql.join(columns.map((c) => sql.id(c)))})
      select coalesce(max(${sql.ref('id')}), 0) + 1, ${sql.join([value, value, value, value, value, value])}
      from ${sql.table('_outbox')}`
  })
  const values = [
    change.collection,
    change.recordId,
    change.action,
    JSON.stringify(change.record),
    now,
    change.actor ? JSON.stringify(change.actor) : null,
  ]
  await run(text, values)
}

/**
 * PostgreSQL: numbers every committed pending event (see the migration
 * `outbox-numbered-by-readers`) in its own short transaction, so that a read after it sees them.
 * Never inside another transaction: ids published from a transaction that then rolled back
 * could be given to other events. Returns how many were numbered.
 */
export async function numberPendingChanges(db: DynamicDb, read: ReadRows): Promise<number> {
  const text = fixedSql(
    db,
    'postgres',
    'number-pending-changes',
    () => sql`select ${sql.id('_outbox_number_pending')}() as ${sql.id('moved')}`,
  )
  const [row] = await read(text, [])
  return Number(row?.moved ?? 0)
}

/** Events with `id > afterId`, oldest first. */
export async function readChanges(
  db: DynamicDb,
  dialect: Dialect,
  afterId: number,
  limit: number,
  read: ReadRows,
): Promise<ChangeEvent[]> {
  const text = fixedSql(
    db,
    dialect,
    'read-changes',
    () =>
      sql`select * from ${sql.table('_outbox')} where ${sql.ref('id')} > ${0}
      order by ${sql.ref('id')} limit ${0}`,
  )
  const rows = await read(text, [afterId, limit])
  return rows.map((row) => ({
    id: Number(row.id),
    collection: row.collection as string,
    recordId: row.record_id as string,
    action: row.action as ChangeEvent['action'],
    record: JSON.parse(row.record as string) as Record<string, unknown>,
    created: row.created as string,
    ...(typeof row.actor === 'string' ? { actor: JSON.parse(row.actor) as ChangeActor } : {}),
  }))
}

export async function outboxBounds(db: DynamicDb): Promise<OutboxBounds> {
  const row = await db
    .selectFrom('_outbox')
    .select((eb) => [eb.fn.min('id').as('first'), eb.fn.max('id').as('last')])
    .executeTakeFirst()
  return { first: Number(row?.first ?? 0), last: Number(row?.last ?? 0) }
}

/**
 * Deletes events older than the retention window, always keeping the newest one: its id is
 * where the next allocation continues, and the oldest kept id tells a late reader it missed some.
 */
export async function pruneChanges(
  db: DynamicDb,
  retention: { events?: number; before?: string; keepAfter?: number },
): Promise<number> {
  const { last } = await outboxBounds(db)
  if (last === 0) return 0
  let query = db.deleteFrom('_outbox').where('id', '<', last)
  // A consumer that has not yet handled these (an extension's after hooks) still needs them.
  if (retention.keepAfter !== undefined) query = query.where('id', '<=', retention.keepAfter)
  if (retention.events !== undefined) query = query.where('id', '<=', last - retention.events)
  if (retention.before !== undefined) query = query.where('created', '<', retention.before)
  const result = await query.executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function insertTicket(
  db: DynamicDb,
  id: string,
  token: string,
  expires: string,
): Promise<void> {
  await db.insertInto('_realtime_tickets').values({ id, token, expires }).execute()
}

/** Deletes the ticket and returns its token if it was there and unexpired: usable once. */
export async function takeTicket(
  db: DynamicDb,
  id: string,
  now: string,
): Promise<string | undefined> {
  // Expired tickets of anyone are swept on the way; a ticket lives seconds to minutes.
  await db.deleteFrom('_realtime_tickets').where('expires', '<=', now).execute()
  const row = await db
    .deleteFrom('_realtime_tickets')
    .where('id', '=', id)
    .returning('token')
    .executeTakeFirst()
  return row?.token as string | undefined
}

/** The ticket's token if it is there and unexpired; it stays (a stream's reconnect ticket). */
export async function findTicket(
  db: DynamicDb,
  id: string,
  now: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('_realtime_tickets')
    .select('token')
    .where('id', '=', id)
    .where('expires', '>', now)
    .executeTakeFirst()
  return row?.token as string | undefined
}
