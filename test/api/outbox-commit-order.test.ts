/**
 * The outbox's promise to every reader (DESIGN.md "Data guarantees"; `appendChanges`): event
 * ids become visible in id order and without gaps, so a reader that has seen id N has seen every
 * id below it and never misses one by moving its cursor past it. Proved with concurrent writers
 * on two stores (two nodes), transactions that roll back, transactions with several events, and
 * a reader that follows the outbox by cursor while they run. On PostgreSQL, the ids are
 * allocated in batches by the readers (both nodes read, so both number, under one lock); a
 * writer of the earliest protocol (lock taken by the node, then `max(id) + 1`) interleaves with
 * them under the same lock.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CollectionDef } from '../../src/core/schema/types.js'
import type { ChangeEvent, Row, Store } from '../../src/adapters/store/store.js'
import { OUTBOX_LOCK_KEY } from '../../src/adapters/store/outbox-lock.js'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const WRITERS = 8
const TRANSACTIONS_EACH = 25

describe.each(await availableDialects())('outbox ids in commit order on %s', (dialect) => {
  let t: TestEngine
  let other: Store
  let notes: CollectionDef
  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'notes', fields: [{ name: 'text', type: 'text' }] })
    notes = t.engine.registry.get('notes')
    other = await t.openAnotherStore()
  })
  afterAll(async () => {
    await other.close()
    await t.close()
  })

  const row = (id: string): Row => {
    const at = new Date().toISOString()
    return { id, created: at, updated: at, text: id }
  }

  /** One transaction writing `count` records and their events; it rolls back when `fail`. */
  async function write(store: Store, tag: string, count: number, fail: boolean): Promise<void> {
    await store
      .transaction(async (tx) => {
        for (let i = 0; i < count; i++) {
          const id = `${tag}-${i}`
          await tx.insertRecord(notes, row(id))
          tx.recordChange({ collection: 'notes', recordId: id, action: 'create', record: { id } })
        }
        // Uneven pauses, so that transactions overlap and commit in an order of their own.
        await new Promise((resolve) => setTimeout(resolve, (tag.length * 7) % 5))
        if (fail) throw new Error('roll back')
      })
      .catch((error: unknown) => {
        if (!fail) throw error
      })
  }

  /** The earlier protocol on PostgreSQL: the node takes the lock, then numbers the event. */
  async function writeAsEarlierVersion(tag: string): Promise<void> {
    const db = (t.engine.store as unknown as { db: DynamicDb }).db
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${OUTBOX_LOCK_KEY}, hashtext(current_schema()))`.execute(
        trx,
      )
      await sql`insert into _outbox (id, collection, record_id, action, record, created)
        select coalesce(max(id), 0) + 1, 'notes', ${tag}, 'create', ${JSON.stringify({ id: tag })},
          ${new Date().toISOString()} from _outbox`.execute(trx)
    })
  }

  it('a reader following by cursor sees every committed event once, in order, with no gap', async () => {
    const start = (await t.engine.store.outboxBounds()).last
    const expected = new Set<string>()
    let writing = true
    /** A reader on `store`; on PostgreSQL each read also numbers what is pending. */
    const follow = async (store: Store, seen: ChangeEvent[]) => {
      let cursor = start
      for (;;) {
        const done = !writing
        const events = await store.readChanges(cursor, 50)
        for (const event of events) {
          // The promise itself: the next visible id is always the one after the cursor.
          expect(event.id).toBe(cursor + 1)
          cursor = event.id
          seen.push(event)
        }
        if (done && events.length === 0) return
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const seen: ChangeEvent[] = []
    const seenHere: ChangeEvent[] = []
    // Two readers, one per node: on PostgreSQL two numberers racing each other.
    const following = Promise.all([follow(other, seen), follow(t.engine.store, seenHere)])
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, writer) => {
        for (let n = 0; n < TRANSACTIONS_EACH; n++) {
          const tag = `w${writer}t${n}`
          const count = 1 + ((writer + n) % 3)
          const fail = (writer * 31 + n) % 7 === 0
          if (!fail) for (let i = 0; i < count; i++) expected.add(`${tag}-${i}`)
          if (dialect === 'postgres' && writer === 0 && n % 5 === 0) {
            expected.add(`${tag}-old`)
            await writeAsEarlierVersion(`${tag}-old`)
          }
          // PostgreSQL: half the writers on each node. SQLite has one writer at a time, and a
          // second process waiting on the file lock would test its busy timeout instead.
          const node = dialect === 'postgres' && writer % 2 ? other : t.engine.store
          await write(node, tag, count, fail)
        }
      }),
    )
    writing = false
    await following
    expect(seenHere).toEqual(seen)
    const ids = seen.map((event) => event.recordId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(new Set(ids)).toEqual(expected)
    // A transaction's events are consecutive and keep the order they were recorded in.
    for (const [index, event] of seen.entries()) {
      const match = /^(.*)-(\d+)$/.exec(event.recordId)
      if (match && Number(match[2]) > 0) {
        expect(seen[index - 1]?.recordId).toBe(`${match[1]}-${Number(match[2]) - 1}`)
      }
    }
    expect((await t.engine.store.outboxBounds()).last).toBe(start + expected.size)
  })

  it.runIf(dialect === 'postgres')(
    'a committed event waits pending until a read numbers it; a rolled-back one never appears',
    async () => {
      const db = (t.engine.store as unknown as { db: DynamicDb }).db
      const pending = async () =>
        Number(
          (await sql<{ n: string }>`select count(*) as n from _outbox_pending`.execute(db)).rows[0]
            ?.n,
        )
      const before = (await t.engine.store.outboxBounds()).last
      await write(t.engine.store, 'pending-a', 2, false)
      await write(t.engine.store, 'pending-b', 2, true)
      expect(await pending()).toBe(2)
      // Read through the other node: any reader numbers what every node left pending.
      const events = await other.readChanges(before, 10)
      expect(events.map((event) => [event.id, event.recordId])).toEqual([
        [before + 1, 'pending-a-0'],
        [before + 2, 'pending-a-1'],
      ])
      expect(await pending()).toBe(0)
    },
  )

  it.runIf(dialect === 'postgres')(
    'an event read inside a transaction is not numbered there (its ids could be rolled back)',
    async () => {
      const before = (await t.engine.store.outboxBounds()).last
      await write(t.engine.store, 'inside', 1, false)
      const seenInside = await t.engine.store.transaction((tx) => tx.readChanges(before, 10))
      expect(seenInside).toEqual([])
      const [event] = await t.engine.store.readChanges(before, 10)
      expect(event).toMatchObject({ id: before + 1, recordId: 'inside-0' })
    },
  )
})
