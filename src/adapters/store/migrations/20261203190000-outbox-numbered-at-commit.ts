import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'
import { OUTBOX_LOCK_KEY } from '../outbox-lock.js'

/**
 * PostgreSQL: change events are numbered by the database as their transaction commits. A write
 * inserts its events into `_outbox_pending`; a deferred constraint trigger, which runs inside
 * COMMIT, takes the outbox lock and moves each into `_outbox` with id `max(id) + 1`. The lock
 * is held from there to the end of the commit, as before (ids visible in id order, no gap), but
 * no longer across round trips to the node: taken by the node, it was held while the node's
 * event loop got round to sending the outbox insert and then the COMMIT, which serialised all
 * writers on the node's latency. The key is the one the node took, so a node of an earlier
 * version writing beside this one still allocates under the same lock.
 *
 * The pending table is unlogged: a row lives only inside its own transaction (the trigger
 * deletes it before the commit), so it never needs to survive a crash.
 *
 * SQLite: nothing; one writer at a time already, and ids are allocated in the write itself.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  if (adapter.dialect !== 'postgres') return
  const text = sql.raw(adapter.systemColumnTypes.text)
  await sql`create unlogged table ${sql.table('_outbox_pending')} (
    ${sql.id('seq')} bigint generated always as identity primary key,
    ${sql.id('collection')} ${text} not null,
    ${sql.id('record_id')} ${text} not null,
    ${sql.id('action')} ${text} not null,
    ${sql.id('record')} ${text} not null,
    ${sql.id('created')} ${text} not null,
    ${sql.id('actor')} ${text})`.execute(db)
  // Each statement of a PL/pgSQL function takes a fresh snapshot (read committed), so `max(id)`
  // is read after the lock is held and sees every event committed before.
  await sql`create function ${sql.id('_outbox_number')}() returns trigger language plpgsql as $$
    begin
      perform pg_advisory_xact_lock(${sql.raw(String(OUTBOX_LOCK_KEY))}, hashtext(current_schema()));
      insert into _outbox (id, collection, record_id, action, record, created, actor)
        select coalesce(max(id), 0) + 1, new.collection, new.record_id, new.action, new.record,
          new.created, new.actor
        from _outbox;
      delete from _outbox_pending where seq = new.seq;
      return null;
    end
  $$`.execute(db)
  // Row triggers fire in the order the rows were inserted: a transaction's events keep theirs.
  await sql`create constraint trigger ${sql.id('_outbox_number')}
    after insert on ${sql.table('_outbox_pending')}
    deferrable initially deferred
    for each row execute function ${sql.id('_outbox_number')}()`.execute(db)
}
