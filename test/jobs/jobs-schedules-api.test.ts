/**
 * Schedules through the admin API (`/api/schedules`): stored in the database, so a second engine
 * (another node) on the same database and queue sees one made on the first; each tick queues
 * its named job with its payload once across both; after downtime the newest missed tick runs
 * once; a bad cron, time zone, job or field is a problem naming the field and changes nothing;
 * only superusers manage them. The clock is a manual one: ticks come when the test moves it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/services/create-engine.js'
import {
  createJobsEngine,
  manualClock,
  queueVariants,
  waitFor,
  type JobsEngine,
} from '../helpers/jobs-engine.js'

const variants = await queueVariants()

describe.each(variants)('schedules through the admin API on %s', (variant) => {
  let t: JobsEngine
  afterEach(async () => {
    await t?.close()
  })

  /**
   * Every engine looks for due ticks twice: at once on PostgreSQL, one after the other on
   * SQLite (two stores in one event loop; see jobs-cron.test.ts for why).
   */
  async function lookEverywhere(engines: Engine[]): Promise<string[]> {
    const looks = [...engines, ...engines].map((e) => () => e.jobs.scheduler.runDue())
    if (t.dialect === 'postgres') return (await Promise.all(looks.map((look) => look()))).flat()
    const claims: string[] = []
    for (const look of looks) claims.push(...(await look()))
    return claims
  }

  it('a stored schedule queues its job once per tick across two engines, in its time zone', async () => {
    const clock = manualClock(new Date('2026-07-01T05:59:30Z'))
    t = await createJobsEngine(variant, { clock })
    const other = await t.another()
    const runs: string[] = []
    for (const [who, engine] of [
      ['a', t.engine],
      ['b', other],
    ] as const) {
      engine.jobs.define(
        'digest',
        (payload, job) => void runs.push(`${who} ${JSON.stringify(payload)} ${job.attempt}`),
      )
    }
    const created = await t.call({
      method: 'POST',
      url: '/api/schedules',
      payload: {
        name: 'morning-digest',
        cron: '0 8 * * *',
        tz: 'Europe/Paris',
        job: 'digest',
        payload: { list: 'weekly' },
      },
    })
    expect(created.statusCode, created.body).toBe(201)
    const schedule = created.json()
    expect(schedule).toMatchObject({
      name: 'morning-digest',
      cron: '0 8 * * *',
      tz: 'Europe/Paris',
      job: 'digest',
      payload: { list: 'weekly' },
      enabled: true,
      // 08:00 in Paris is 06:00 UTC in summer.
      nextRun: '2026-07-01T06:00:00.000Z',
      lastTick: null,
    })
    expect(await lookEverywhere([t.engine, other])).toEqual([])

    t.engine.jobs.startWorkers(1)
    other.jobs.startWorkers(1)
    for (const day of ['01', '02']) {
      clock.set(new Date(`2026-07-${day}T06:00:00.400Z`))
      expect(await lookEverywhere([other, t.engine])).toEqual([
        `api:${schedule.id as string}@2026-07-${day}T06:00:00.000Z`,
      ])
    }
    await waitFor(() => runs.length === 2, 10_000, 'two runs')
    await new Promise((r) => setTimeout(r, 300))
    expect(runs.map((r) => r.slice(2))).toEqual(['{"list":"weekly"} 1', '{"list":"weekly"} 1'])
    const shown = await t.call({ method: 'GET', url: `/api/schedules/${schedule.id as string}` })
    expect(shown.json()).toMatchObject({ lastTick: '2026-07-02T06:00:00.000Z' })

    // Changed on the other node's API: both see the new pattern at their next look.
    const otherApp = await import('../../src/http/server.js').then((m) => m.buildServer(other, {}))
    const token = t.token
    const changed = await otherApp.inject({
      method: 'PATCH',
      url: `/api/schedules/${schedule.id as string}`,
      headers: { authorization: `Bearer ${token}` },
      payload: { cron: '30 8 * * *', payload: { list: 'daily' } },
    })
    await otherApp.close()
    expect(changed.statusCode, changed.body).toBe(200)
    clock.set(new Date('2026-07-02T06:30:00.100Z'))
    expect(await lookEverywhere([t.engine, other])).toEqual([
      `api:${schedule.id as string}@2026-07-02T06:30:00.000Z`,
    ])
    await waitFor(() => runs.length === 3)
    expect(runs[2]?.slice(2)).toBe('{"list":"daily"} 1')

    // Disabled: no tick; deleted: gone on both.
    const disabled = await t.call({
      method: 'PATCH',
      url: `/api/schedules/${schedule.id as string}`,
      payload: { enabled: false },
    })
    expect(disabled.json()).toMatchObject({ enabled: false, nextRun: null })
    clock.set(new Date('2026-07-03T06:30:00.100Z'))
    expect(await lookEverywhere([t.engine, other])).toEqual([])
    const removed = await t.call({
      method: 'DELETE',
      url: `/api/schedules/${schedule.id as string}`,
    })
    expect(removed.statusCode).toBe(204)
    const gone = await t.call({ method: 'GET', url: `/api/schedules/${schedule.id as string}` })
    expect(gone.statusCode).toBe(404)
    expect(gone.json().type).toBeDefined()
  })

  it('after downtime the newest missed tick runs once; enabling again does not catch up', async () => {
    const clock = manualClock(new Date('2026-12-03T02:59:00Z'))
    t = await createJobsEngine(variant, { clock })
    const runs: unknown[] = []
    t.engine.jobs.define('prune', (payload) => void runs.push(payload))
    const created = await t.call({
      method: 'POST',
      url: '/api/schedules',
      payload: { name: 'hourly-prune', cron: '0 * * * *', job: 'prune', payload: 1 },
    })
    expect(created.statusCode).toBe(201)
    const id = created.json().id as string
    clock.set(new Date('2026-12-03T03:00:01Z'))
    expect(await t.engine.jobs.scheduler.runDue()).toEqual([`api:${id}@2026-12-03T03:00:00.000Z`])
    // Every node down until 08:20: a restarted engine runs 08:00 once, not five ticks.
    clock.set(new Date('2026-12-03T08:20:00Z'))
    const restarted = await t.another()
    restarted.jobs.define('prune', (payload) => void runs.push(payload))
    expect(await restarted.jobs.scheduler.runDue()).toEqual([`api:${id}@2026-12-03T08:00:00.000Z`])
    expect(await restarted.jobs.scheduler.runDue()).toEqual([])
    expect(await t.engine.jobs.scheduler.runDue()).toEqual([])
    restarted.jobs.startWorkers(1)
    await waitFor(() => runs.length === 2)
    await new Promise((r) => setTimeout(r, 300))
    expect(runs).toEqual([1, 1])

    // Disabled over 09:00 and 10:00, enabled at 10:30: nothing until 11:00.
    await t.call({ method: 'PATCH', url: `/api/schedules/${id}`, payload: { enabled: false } })
    clock.set(new Date('2026-12-03T10:30:00Z'))
    await t.call({ method: 'PATCH', url: `/api/schedules/${id}`, payload: { enabled: true } })
    expect(await restarted.jobs.scheduler.runDue()).toEqual([])
    clock.set(new Date('2026-12-03T11:00:00.200Z'))
    expect(await restarted.jobs.scheduler.runDue()).toEqual([`api:${id}@2026-12-03T11:00:00.000Z`])
  })

  it('bad input is a problem naming the field and changes nothing; only superusers manage them', async () => {
    t = await createJobsEngine(variant)
    t.engine.jobs.define('digest', () => {})
    const good = { name: 'n', cron: '*/5 * * * *', tz: 'UTC', job: 'digest' }
    const first = await t.call({ method: 'POST', url: '/api/schedules', payload: good })
    expect(first.statusCode).toBe(201)
    const id = first.json().id as string
    const rows: [object, number, string][] = [
      [{ ...good, name: 'a', cron: '61 * * * *' }, 400, 'cron'],
      [{ ...good, name: 'a', cron: 'every day' }, 400, 'cron'],
      [{ ...good, name: 'a', cron: 5 }, 400, 'cron'],
      [{ ...good, name: 'a', tz: 'Mars/Olympus' }, 400, 'tz'],
      [{ ...good, name: 'a', tz: '' }, 400, 'tz'],
      [{ ...good, name: 'a', job: 'no-such-job' }, 400, 'job'],
      [{ ...good, name: 'a', job: 'cron:digest' }, 400, 'job'],
      [{ ...good, name: 'a b' }, 400, 'name'],
      [{ ...good, name: 'a', enabled: 'yes' }, 400, 'enabled'],
      [{ ...good, name: 'a', payload: 'x'.repeat(70_000) }, 400, 'payload'],
      [{ ...good, name: 'a', url: 'http://x' }, 400, 'url'],
      [{ name: 'a', job: 'digest' }, 400, 'cron'],
      [good, 409, 'name'],
    ]
    for (const [payload, status, field] of rows) {
      const res = await t.call({ method: 'POST', url: '/api/schedules', payload })
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(status)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(Object.keys(res.json().errors ?? {}), res.body).toEqual([field])
    }
    for (const [payload, field] of [
      [{ cron: '* * * * * * * *' }, 'cron'],
      [{ tz: 'Nowhere/City' }, 'tz'],
      [{ job: 'missing' }, 'job'],
    ] as const) {
      const res = await t.call({ method: 'PATCH', url: `/api/schedules/${id}`, payload })
      expect(res.statusCode).toBe(400)
      expect(Object.keys(res.json().errors)).toEqual([field])
    }
    const list = await t.call({ method: 'GET', url: '/api/schedules' })
    expect(list.json().items).toHaveLength(1)
    expect(list.json().items[0]).toMatchObject({ ...good, enabled: true })

    // Strangers: anonymous is 401, a signed-in user of an auth collection 403.
    const anonymous = await t.call({ method: 'GET', url: '/api/schedules', anonymous: true })
    expect(anonymous.statusCode).toBe(401)
    await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: { name: 'members', type: 'auth', fields: [], rules: { create: '' } },
    })
    await t.call({
      method: 'POST',
      url: '/api/collections/members/records',
      payload: { email: 'm@example.com', password: 'a long enough password' },
    })
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/collections/members/auth/password',
      payload: { identity: 'm@example.com', password: 'a long enough password' },
    })
    const user = { authorization: `Bearer ${login.json().token as string}` }
    for (const [method, url] of [
      ['GET', '/api/schedules'],
      ['POST', '/api/schedules'],
      ['PATCH', `/api/schedules/${id}`],
      ['DELETE', `/api/schedules/${id}`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: user, payload: good })
      expect(res.statusCode, `${method} ${url}`).toBe(403)
    }
    expect((await t.call({ method: 'GET', url: `/api/schedules/${id}` })).json().cron).toBe(
      good.cron,
    )
  })
})
