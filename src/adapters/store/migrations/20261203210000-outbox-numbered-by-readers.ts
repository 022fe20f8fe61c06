import { sql } from 'kysely'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'
import { OUTBOX_LOCK_KEY } from '../outbox-lock.js'

/**
 * PostgreSQL: change events are numbered in batches by whoever reads the outbox, no longer inside
 * each write's COMMIT. Numbered at commit, every write held the outbox lock through its commit's
 * WAL flush, so writes committed one fsync at a time (measured: about 350 creates/s against
 * 1,500-2,000 single inserts/s on the same server, whatever the round trips). Now a write's
 * events stay in `_outbox_pending` (logged: they outlive their transaction until numbered, and
 * must survive a crash), and `_outbox_number_pending()` moves every committed pending event into
 * `_outbox` with ids `max(id) + 1 …`, under the same lock, in one short transaction. Readers of
 * the store call it before they read (`KyselyStore`), so ids still become visible in id order
 * and without gaps, and one lock-holding commit serves a whole batch of writes.
 *
 * Order: a transaction's events stay consecutive and in the order it recorded them (grouped by
 * transaction id, then `seq`); transactions are ordered by their first event's `seq`. Two writes
 * of the same row keep their commit order: the second cannot insert its events before the first
 * has committed (it waits on the row lock), so its `seq` is higher and, if both are pending, it
 * is numbered after; if the first was numbered already, the second comes later anyway.
 *
 * A node of the previous version writes into `_outbox_pending` as this one does; with the
 * trigger gone its events are numbered by the next reader. A node of the version before that
 * took the lock itself and inserted into `_outbox`: still the same lock, so ids interleave.
 *
 * SQLite: nothing; one writer at a time, ids are allocated in the write itself.
 */
export async function up(db: DynamicDb, adapter: DialectAdapter): Promise<void> {
  if (adapter.dialect !== 'postgres') return
  await sql`drop trigger if exists ${sql.id('_outbox_number')} on ${sql.table('_outbox_pending')}`.execute(
    db,
  )
  await sql`drop function if exists ${sql.id('_outbox_number')}()`.execute(db)
  await sql`alter table ${sql.table('_outbox_pending')} set logged`.execute(db)
  // The writing transaction's id, to keep a transaction's events together when numbered.
  await sql`alter table ${sql.table('_outbox_pending')}
    add column ${sql.id('tx')} bigint not null default txid_current()`.execute(db)
  // Each statement of a PL/pgSQL function takes a fresh snapshot (read committed): the delete
  // runs after the lock is held and sees every event committed before, and `max(id)` every id.
  // The first check spares the lock (and a commit) when nothing waits.
  await sql`create function ${sql.id('_outbox_number_pending')}() returns integer
    language plpgsql as $$
    declare
      moved integer;
    begin
      if not exists (select 1 from _outbox_pending) then
        return 0;
      end if;
      perform pg_advisory_xact_lock(${sql.raw(String(OUTBOX_LOCK_KEY))}, hashtext(current_schema()));
      with pending as (
        delete from _outbox_pending returning *
      ), grouped as (
        select p.*, min(p.seq) over (partition by p.tx) as first from pending p
      ), base as (
        select coalesce(max(id), 0) as last from _outbox
      )
      insert into _outbox (id, collection, record_id, action, record, created, actor)
        select base.last + row_number() over (order by g.first, g.seq), g.collection,
          g.record_id, g.action, g.record, g.created, g.actor
        from grouped g cross join base;
      get diagnostics moved = row_count;
      return moved;
    end
  $$`.execute(db)
}
