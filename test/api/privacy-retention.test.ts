/**
 * Per-collection retention on both dialects, as two nodes on one database run it: the tick is
 * claimed by exactly one node, records created before the cutoff are deleted (or have their
 * personal fields emptied) and exactly those, a record a `restrict` relation holds is skipped
 * and reported, the run is one audit entry with counts only, and the next tick changes nothing.
 * The clock is a manual one: records are created "in the past" and ticks come when it moves.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/services/create-engine.js'
import { cliContext } from '../../src/services/context.js'
import { verifyAudit } from '../../src/services/audit/audit-log.js'
import { availableDialects } from '../helpers/dialects.js'
import { createJobsEngine, manualClock, waitFor, type JobsEngine } from '../helpers/jobs-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('privacy retention (%s)', (dialect) => {
  let t: JobsEngine
  afterEach(async () => {
    await t?.close()
  })

  it('deletes or anonymises exactly the records past their collection policy, once per tick across nodes', async () => {
    const clock = manualClock(new Date('2026-01-01T08:00:30Z'))
    t = await createJobsEngine(dialect, {
      clock,
      engine: { retention: { schedule: '0 * * * *' } },
    })
    // Opened first: on SQLite both nodes share this process, and a node opening while the
    // other writes would wait on its lock from the one event loop.
    const other = await t.another()
    const schema = (body: unknown) =>
      t.engine.schema.createCollection(cliContext(t.engine.registry.get('_superusers')), body)
    await schema({
      name: 'visits',
      fields: [
        { name: 'page', type: 'text' },
        { name: 'ip', type: 'text', personal: true },
      ],
      retention: { days: 30, action: 'delete' },
    })
    await schema({
      name: 'orders',
      fields: [
        { name: 'item', type: 'text' },
        { name: 'email', type: 'email', personal: true },
        { name: 'tags', type: 'select', values: ['a', 'b'], maxSelect: 2, personal: true },
      ],
      retention: { days: 30, action: 'anonymize' },
    })
    await schema({
      name: 'pins',
      fields: [{ name: 'visit', type: 'relation', collection: 'visits', onDelete: 'restrict' }],
    })
    await schema({ name: 'notes', fields: [{ name: 'text', type: 'text', personal: true }] })
    const ctx = cliContext(t.engine.registry.get('_superusers'))
    const create = async (engine: Engine, name: string, body: Record<string, unknown>) =>
      String((await engine.records.create(ctx, name, body)).id)

    // 1 January: old records. 20 January: recent ones (inside 30 days on 5 February).
    const oldVisits = [
      await create(t.engine, 'visits', { page: '/a', ip: '10.0.0.1' }),
      await create(t.engine, 'visits', { page: '/b', ip: '10.0.0.2' }),
      await create(t.engine, 'visits', { page: '/c', ip: '10.0.0.3' }),
    ]
    const pinned = oldVisits[2] as string
    await create(t.engine, 'pins', { visit: pinned })
    const oldOrders = [
      await create(t.engine, 'orders', { item: 'tea', email: 'ann@example.com', tags: ['a'] }),
      await create(t.engine, 'orders', { item: 'cake', email: 'bob@example.com' }),
    ]
    const note = await create(t.engine, 'notes', { text: 'kept: no policy' })
    clock.set(new Date('2026-01-20T12:00:00Z'))
    const newVisits = [await create(t.engine, 'visits', { page: '/d', ip: '10.0.0.4' })]
    const newOrder = await create(t.engine, 'orders', { item: 'pie', email: 'cy@example.com' })

    clock.set(new Date('2026-02-05T10:00:00.500Z'))
    // Both nodes look, several times, one after the other (see jobs-cron.test.ts): one claim.
    const claims: string[] = []
    for (const engine of [t.engine, other, t.engine, other]) {
      claims.push(...(await engine.jobs.scheduler.runDue()))
    }
    expect(claims).toEqual(['_retention@2026-02-05T10:00:00.000Z'])
    // One worker runs the jobs both nodes queue (two SQLite workers in one process would wait
    // on each other's lock from one event loop; as processes they simply take turns).
    t.engine.jobs.startWorkers(1)
    const ids = async (name: string) =>
      (await t.engine.records.list(ctx, name, { perPage: '100', sort: 'created' })).items
    await waitFor(async () => (await ids('visits')).length === 2, 20_000, 'the old visits deleted')
    // Exactly the old, unpinned visits went; the pinned one stays (restrict) with the new one.
    expect((await ids('visits')).map((r) => r.id)).toEqual([pinned, ...newVisits])
    await waitFor(async () => (await ids('orders'))[0]?.email === null, 20_000, 'anonymised')
    const orders = await ids('orders')
    expect(orders.map((r) => [r.id, r.item, r.email, r.tags])).toEqual([
      [oldOrders[0], 'tea', null, []],
      [oldOrders[1], 'cake', null, []],
      [newOrder, 'pie', 'cy@example.com', []],
    ])
    expect((await ids('notes')).map((r) => r.id)).toEqual([note])

    // One audit entry by the system, with counts and no personal value. The job writes it
    // after its last record change, so it may land a moment after the records above.
    const retentionRuns = async () =>
      (await t.engine.store.audit.page(0, 1000)).filter((r) => r.action === 'privacy.retention')
    await waitFor(async () => (await retentionRuns()).length > 0, 20_000, 'the run audited')
    const audit = await t.engine.store.audit.page(0, 1000)
    const runs = audit.filter((r) => r.action === 'privacy.retention')
    expect(runs).toHaveLength(1)
    expect(runs[0]?.actor).toBe('system')
    expect(JSON.parse(runs[0]!.detail)).toEqual({
      deleted: { visits: 2 },
      anonymized: { orders: 2 },
      skipped: { visits: { count: 1, reason: 'ER_RELATION_RESTRICTED' } },
    })
    for (const row of audit) expect(row.detail).not.toMatch(/10\.0\.0|example\.com/)
    expect((await verifyAudit(t.engine.store)).broken).toBeUndefined()

    // The next tick finds nothing new to do: anonymised records are not counted again.
    clock.set(new Date('2026-02-05T11:00:00.500Z'))
    expect(await other.jobs.scheduler.runDue()).toEqual(['_retention@2026-02-05T11:00:00.000Z'])
    await waitFor(async () => (await retentionRuns()).length === 2, 20_000, 'the second run')
    expect((await retentionRuns()).map((r) => JSON.parse(r.detail) as unknown)).toEqual([
      JSON.parse(runs[0]!.detail),
      {
        deleted: {},
        anonymized: {},
        skipped: { visits: { count: 1, reason: 'ER_RELATION_RESTRICTED' } },
      },
    ])
  })

  it('refuses a policy that is not one, naming the field', async () => {
    t = await createJobsEngine(dialect)
    const cases: [unknown, string][] = [
      [{ days: 0, action: 'delete' }, 'retention.days'],
      [{ days: 1.5, action: 'delete' }, 'retention.days'],
      [{ days: 7, action: 'shred' }, 'retention.action'],
      [{ days: 7, action: 'anonymize' }, 'retention.action'],
      [{ days: 7, action: 'delete', when: 'updated' }, 'retention.when'],
      ['30d', 'retention'],
    ]
    for (const [retention, field] of cases) {
      const res = await t.call({
        method: 'POST',
        url: '/api/collections',
        payload: { name: 'logs', fields: [{ name: 'line', type: 'text' }], retention },
      })
      expect(res.statusCode, JSON.stringify(retention)).toBe(400)
      expect(JSON.stringify(res.json()), JSON.stringify(retention)).toContain(field)
    }
    expect(t.engine.registry.list().some((c) => c.name === 'logs')).toBe(false)
  })
})
