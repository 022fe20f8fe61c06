/**
 * A create that needs nothing in its transaction but the insert and its event (superuser, base
 * collection, no hook, rule, relation or file) is one statement on PostgreSQL, its event built
 * from the row the database is known to store before the statement is sent. These rows prove
 * that this event is the stored record, field type by field type, with the unsent fields'
 * defaults; that the write is atomic (an event that cannot be written takes the record with it);
 * and that the creates that need more (a relation to check) still get their checks.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const EVERY_TYPE = {
  name: 'kinds',
  fields: [
    { name: 'title', type: 'text' },
    { name: 'secret', type: 'text', hidden: true },
    { name: 'qty', type: 'number' },
    { name: 'flag', type: 'bool' },
    { name: 'unset_flag', type: 'bool' },
    { name: 'when', type: 'date' },
    { name: 'mail', type: 'email' },
    { name: 'site', type: 'url' },
    { name: 'kind', type: 'select', values: ['a', 'b'] },
    { name: 'labels', type: 'select', values: ['x', 'y', 'z'], maxSelect: 3 },
    { name: 'unset_labels', type: 'select', values: ['x', 'y'], maxSelect: 2 },
    { name: 'meta', type: 'json' },
    { name: 'unset_meta', type: 'json' },
    { name: 'stamp', type: 'autodate', onCreate: true, onUpdate: true },
    { name: 'unset_text', type: 'text' },
  ],
}

/** Values that a careless prediction of the stored row would get wrong. */
const BODIES = [
  {
    title: 'plain',
    secret: 's',
    qty: 0.1 + 0.2,
    flag: true,
    when: '2024-02-29T12:00:00.000Z',
    mail: 'a@example.com',
    site: 'https://example.com/x?y=1',
    kind: 'b',
    labels: ['z', 'x'],
    meta: { nested: [1, 'two', null, { deep: true }], unicode: 'ü ✓ 😀', big: 1e300 },
  },
  { title: 'negative and tiny', qty: -5e-324, flag: false, meta: [] },
  { title: 'quotes " \\ and a tab \t', qty: 2 ** 53, meta: 'a string' },
  { title: '' },
]

describe.each(await availableDialects())('a create alone on %s', (dialect) => {
  let t: TestEngine
  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, EVERY_TYPE)
    await createCollection(t, { name: 'targets', fields: [{ name: 'name', type: 'text' }] })
    await createCollection(t, {
      name: 'pointers',
      fields: [{ name: 'to', type: 'relation', collection: 'targets' }],
    })
  })
  afterAll(() => t.close())

  const lastEvent = async () => {
    const { last } = await t.engine.store.outboxBounds()
    return (await t.engine.store.readChanges(last - 1, 1))[0]
  }

  it.each(BODIES.map((body) => [body.title, body] as const))(
    'the event of "%s" is the record as stored, unsent fields as their defaults',
    async (_title, body) => {
      const created = await createRecord(t, 'kinds', body)
      const read = await t.call({
        method: 'GET',
        url: `/api/collections/kinds/records/${created.id}`,
      })
      expect(read.json()).toEqual(created)
      expect(created).toMatchObject({
        unset_flag: false,
        unset_labels: [],
        unset_meta: null,
        unset_text: null,
      })
      const event = await lastEvent()
      expect(event).toMatchObject({ collection: 'kinds', recordId: created.id, action: 'create' })
      // The superuser sees hidden fields; the outbox keeps them for each reader to judge.
      expect(event?.record).toEqual(created)
    },
  )

  it('answers a unique conflict as a 409 problem, with no record and no event', async () => {
    await createCollection(t, {
      name: 'slugs',
      fields: [{ name: 'slug', type: 'text', unique: true }],
    })
    await createRecord(t, 'slugs', { slug: 'taken' })
    const { last } = await t.engine.store.outboxBounds()
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/slugs/records',
      payload: { slug: 'taken' },
    })
    expect(Object.keys(expectProblem(res, 409, 'ER_RECORD_CONFLICT').errors ?? {})).toEqual([
      'slug',
    ])
    expect((await t.engine.store.outboxBounds()).last).toBe(last)
  })

  it('still checks a relation id (a create that needs its transaction)', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/pointers/records',
      payload: { to: 'nosuchrecord000' },
    })
    expectProblem(res, 400, 'ER_RELATION_MISSING')
    const target = await createRecord(t, 'targets', { name: 't' })
    const pointer = await createRecord(t, 'pointers', { to: target.id })
    expect((await lastEvent())?.record).toEqual(pointer)
  })

  it.runIf(dialect === 'postgres')(
    'is atomic: an event the outbox refuses takes its record with it',
    async () => {
      const db = (t.engine.store as unknown as { db: DynamicDb }).db
      await sql`alter table _outbox_pending add constraint refuse_boom
        check (record not like '%boom%')`.execute(db)
      try {
        const { last } = await t.engine.store.outboxBounds()
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/kinds/records',
          payload: { title: 'boom' },
        })
        expect(res.statusCode).toBe(500)
        const { rows } = await sql`select id from kinds where title = 'boom'`.execute(db)
        expect(rows).toEqual([])
        expect((await t.engine.store.outboxBounds()).last).toBe(last)
      } finally {
        await sql`alter table _outbox_pending drop constraint refuse_boom`.execute(db)
      }
    },
  )
})
