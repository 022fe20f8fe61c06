/**
 * Cron schedules: each tick runs once across two engines (nodes) on one database and queue, a
 * schedule that missed several ticks while every node was down runs once, and time zones are
 * the schedule's. The clock is a manual one: ticks come when the test moves it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  createJobsEngine,
  manualClock,
  queueVariants,
  waitFor,
  type JobsEngine,
} from '../helpers/jobs-engine.js'

const variants = await queueVariants()

describe.each(variants)('cron schedules on %s', (variant) => {
  let t: JobsEngine
  afterEach(async () => {
    await t?.close()
  })

  it('a tick runs exactly once across two engines', async () => {
    const clock = manualClock(new Date('2026-12-03T10:00:30Z'))
    t = await createJobsEngine(variant, { clock })
    const other = await t.another()
    const ticks: string[] = []
    const handler = (who: string) => (tick: { tick: string }) =>
      void ticks.push(`${who}@${tick.tick}`)
    t.engine.jobs.schedule('every-minute', '* * * * *', handler('a'), { tz: 'UTC' })
    other.jobs.schedule('every-minute', '* * * * *', handler('b'), { tz: 'UTC' })
    // Registered at 10:00:30: the 10:00 tick is before the schedule existed and does not run.
    expect(await t.engine.jobs.scheduler.runDue()).toEqual([])
    expect(await other.jobs.scheduler.runDue()).toEqual([])
    t.engine.jobs.startWorkers(2)
    other.jobs.startWorkers(2)
    for (const minute of ['01', '02', '03']) {
      clock.set(new Date(`2026-12-03T10:${minute}:00.500Z`))
      // Both nodes look, several times: one claim in all. At once on PostgreSQL; one after the
      // other on SQLite, whose two stores here share one event loop that better-sqlite3 blocks
      // while it waits for the other's write lock (as processes, they would simply wait).
      const looks = [t.engine, other, t.engine, other].map((e) => () => e.jobs.scheduler.runDue())
      const claims =
        t.dialect === 'postgres'
          ? (await Promise.all(looks.map((look) => look()))).flat()
          : await looks.reduce<Promise<string[]>>(
              async (done, look) => [...(await done), ...(await look())],
              Promise.resolve([]),
            )
      expect(claims).toEqual([`every-minute@2026-12-03T10:${minute}:00.000Z`])
    }
    await waitFor(() => ticks.length === 3, 10_000, 'three ticks')
    await new Promise((r) => setTimeout(r, 300))
    expect(ticks.map((t) => t.split('@')[1]).sort()).toEqual([
      '2026-12-03T10:01:00.000Z',
      '2026-12-03T10:02:00.000Z',
      '2026-12-03T10:03:00.000Z',
    ])
  })

  it('after downtime, the missed ticks run once (the newest), not once each', async () => {
    const clock = manualClock(new Date('2026-12-03T02:59:00Z'))
    t = await createJobsEngine(variant, { clock })
    const ticks: string[] = []
    t.engine.jobs.schedule('hourly', '0 * * * *', (tick) => void ticks.push(tick.tick))
    await t.engine.jobs.scheduler.runDue()
    clock.set(new Date('2026-12-03T03:00:01Z'))
    expect(await t.engine.jobs.scheduler.runDue()).toEqual(['hourly@2026-12-03T03:00:00.000Z'])
    // Every node down from 03:00:01 to 08:20: five ticks (04:00 … 08:00) were missed. A new
    // engine (a restart) on the same database runs the newest of them, once.
    clock.set(new Date('2026-12-03T08:20:00Z'))
    const restarted = await t.another()
    restarted.jobs.schedule('hourly', '0 * * * *', (tick) => void ticks.push(tick.tick))
    expect(await restarted.jobs.scheduler.runDue()).toEqual(['hourly@2026-12-03T08:00:00.000Z'])
    expect(await restarted.jobs.scheduler.runDue()).toEqual([])
    expect(await t.engine.jobs.scheduler.runDue()).toEqual([])
    restarted.jobs.startWorkers(1)
    await waitFor(() => ticks.length === 2)
    await new Promise((r) => setTimeout(r, 300))
    expect(ticks).toEqual(['2026-12-03T03:00:00.000Z', '2026-12-03T08:00:00.000Z'])
  })

  it('ticks follow the schedule’s time zone; a bad pattern is a 400-style validation error', async () => {
    const clock = manualClock(new Date('2026-07-01T00:00:00Z'))
    t = await createJobsEngine(variant, { clock })
    t.engine.jobs.schedule('paris-3am', '0 3 * * *', () => {}, { tz: 'Europe/Paris' })
    clock.set(new Date('2026-07-01T01:00:05Z')) // 03:00:05 in Paris (UTC+2 in summer)
    expect(await t.engine.jobs.scheduler.runDue()).toEqual(['paris-3am@2026-07-01T01:00:00.000Z'])
    expect(() => t.engine.jobs.schedule('bad', '61 * * * *', () => {})).toThrow(
      expect.objectContaining({ code: 'ER_VALIDATION_FAILED' }),
    )
    expect(() =>
      t.engine.jobs.schedule('bad-tz', '* * * * *', () => {}, { tz: 'Mars/Olympus' }),
    ).toThrow(expect.objectContaining({ code: 'ER_VALIDATION_FAILED' }))
  })
})
