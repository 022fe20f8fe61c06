/**
 * The job queue through `engine.jobs`, on the store queue (SQLite, PostgreSQL) and on BullMQ
 * with the local Redis: transactional enqueue, retries with backoff into the dead-letter state,
 * idempotency keys, two workers never running one job twice, and a job outliving its worker.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cliContext } from '../../src/services/context.js'
import {
  createJobsEngine,
  queueVariants,
  waitFor,
  type JobsEngine,
} from '../helpers/jobs-engine.js'

const variants = await queueVariants()

describe.each(variants)('jobs queue on %s', (variant) => {
  let t: JobsEngine
  afterEach(async () => {
    await t?.close()
  })

  it('a job enqueued in a write’s transaction exists only if the write commits', async () => {
    t = await createJobsEngine(variant)
    const { engine } = t
    await engine.schema.createCollection(cliContext(engine.registry.get('_superusers')), {
      name: 'posts',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
    })
    const ran: unknown[] = []
    engine.jobs.define('notify', (payload) => void ran.push(payload))
    const ctx = cliContext(engine.registry.get('_superusers'))
    const write = async (title: string, fail: boolean) => {
      const prepared = await engine.records.prepare(ctx, {
        method: 'create',
        name: 'posts',
        body: { title },
      })
      await engine.records.transaction(async (tx) => {
        const record = await engine.records.apply(ctx, tx, prepared)
        await engine.jobs.enqueue('notify', { id: record?.id, title }, { tx })
        if (fail) throw new Error('rolled back')
      })
    }
    await expect(write('lost', true)).rejects.toThrow('rolled back')
    await write('kept', false)
    engine.jobs.startWorkers(2)
    await waitFor(() => ran.length === 1, 10_000, 'the committed job')
    // Long enough for a rolled-back job to have run had it existed (the queue is empty now).
    await waitFor(async () => (await engine.jobs.queue.counts()).done === 1)
    expect(ran).toEqual([expect.objectContaining({ title: 'kept' })])
    const posts = await engine.records.list(ctx, 'posts', {})
    expect(posts.items.map((p) => p.title)).toEqual(['kept'])
    const all = await engine.jobs.queue.list({ limit: 10 })
    expect(all.map((j) => j.name)).toEqual(['notify'])
  })

  it('retries with backoff, then dead-letters with the last error; a retry runs it again', async () => {
    t = await createJobsEngine(variant)
    const { engine } = t
    const attempts: number[] = []
    let healthy = false
    engine.jobs.define(
      'flaky',
      (_payload, job) => {
        attempts.push(job.attempt)
        if (!healthy) throw new Error(`failure ${job.attempt}`)
      },
      { attempts: 3, backoffMs: 20, maxBackoffMs: 50 },
    )
    engine.jobs.startWorkers(1)
    const { id } = await engine.jobs.enqueue('flaky', { n: 1 })
    const dead = await waitFor(async () => {
      const job = await engine.jobs.queue.get(id)
      return job?.state === 'dead' ? job : undefined
    })
    expect(attempts).toEqual([1, 2, 3])
    expect(dead?.lastError).toBe('failure 3')
    expect(dead?.attemptsMade).toBe(3)
    // Counted in the metrics: the dead letter in the queue, each attempt by outcome.
    const metrics = (await t.call({ method: 'GET', url: '/metrics', anonymous: true })).body
    expect(metrics).toContain('er_jobs{state="dead"} 1')
    expect(metrics).toContain('er_job_attempts_total{name="flaky",outcome="failed"} 2')
    expect(metrics).toContain('er_job_attempts_total{name="flaky",outcome="dead"} 1')
    // Queue latency: one observation, for the first attempt only (retries wait by design).
    expect(metrics).toMatch(/^er_job_wait_seconds_count\{name="flaky"\} 1$/m)
    // Listed as dead over the admin API, and retried from there.
    const listed = await t.call({ method: 'GET', url: '/api/jobs?state=dead' })
    expect(listed.statusCode).toBe(200)
    expect(listed.json().items.map((j: { id: string }) => j.id)).toEqual([id])
    healthy = true
    const retried = await t.call({ method: 'POST', url: `/api/jobs/${id}/retry` })
    expect(retried.statusCode).toBe(200)
    await waitFor(async () => (await engine.jobs.queue.get(id))?.state === 'done')
    expect(attempts).toEqual([1, 2, 3, 1])
    // A done job is not retried again.
    const again = await t.call({ method: 'POST', url: `/api/jobs/${id}/retry` })
    expect(again.statusCode).toBe(409)
    expect(again.json().code ?? again.json().type).toMatch(/ER_JOB_STATE|job-state/i)
  })

  it('an idempotency key makes a repeated enqueue the same job, run once', async () => {
    t = await createJobsEngine(variant)
    const { engine } = t
    const ran: unknown[] = []
    engine.jobs.define('charge', (payload) => void ran.push(payload))
    const first = await engine.jobs.enqueue('charge', { n: 1 }, { idempotencyKey: 'order-7' })
    const second = await engine.jobs.enqueue('charge', { n: 2 }, { idempotencyKey: 'order-7' })
    expect(second.id).toBe(first.id)
    expect(first.duplicate).toBe(false)
    expect(second.duplicate).toBe(true)
    // Also inside a transaction: still one job.
    await engine.store.transaction(async (tx) => {
      await engine.jobs.enqueue('charge', { n: 3 }, { idempotencyKey: 'order-7', tx })
    })
    engine.jobs.startWorkers(2)
    await waitFor(async () => (await engine.jobs.queue.get(first.id))?.state === 'done')
    await new Promise((r) => setTimeout(r, 200))
    expect(ran).toEqual([{ n: 1 }])
  })

  it('two workers on two engines never run one job twice', async () => {
    t = await createJobsEngine(variant)
    const other = await t.another()
    const runs = new Map<number, string[]>()
    const handler = (who: string) => async (payload: unknown) => {
      const n = (payload as { n: number }).n
      runs.set(n, [...(runs.get(n) ?? []), who])
      await new Promise((r) => setTimeout(r, 2))
    }
    t.engine.jobs.define('work', handler('a'))
    other.jobs.define('work', handler('b'))
    for (let n = 0; n < 60; n++) await t.engine.jobs.enqueue('work', { n })
    t.engine.jobs.startWorkers(4)
    other.jobs.startWorkers(4)
    await waitFor(() => runs.size === 60, 20_000, 'all 60 jobs')
    await waitFor(async () => (await t.engine.jobs.queue.counts()).done === 60)
    expect([...runs.values()].filter((who) => who.length !== 1)).toEqual([])
    const workers = new Set([...runs.values()].flat())
    expect(workers.size).toBeGreaterThanOrEqual(1)
  })

  it('priority: a lower number runs first', async () => {
    t = await createJobsEngine(variant)
    const order: string[] = []
    t.engine.jobs.define('p', (payload) => void order.push((payload as { tag: string }).tag))
    await t.engine.jobs.enqueue('p', { tag: 'late' }, { priority: 10 })
    await t.engine.jobs.enqueue('p', { tag: 'later' }, { priority: 20 })
    await t.engine.jobs.enqueue('p', { tag: 'first' }, { priority: 1 })
    t.engine.jobs.startWorkers(1)
    await waitFor(() => order.length === 3)
    expect(order).toEqual(['first', 'late', 'later'])
  })

  it('a delayed job waits; a queued job can be canceled', async () => {
    t = await createJobsEngine(variant)
    const ran: unknown[] = []
    t.engine.jobs.define('later', (payload) => void ran.push(payload))
    const { id } = await t.engine.jobs.enqueue('later', { x: 1 }, { delay: 60_000 })
    t.engine.jobs.startWorkers(1)
    await new Promise((r) => setTimeout(r, 300))
    expect(ran).toEqual([])
    expect((await t.engine.jobs.queue.get(id))?.state).toBe('queued')
    const canceled = await t.call({ method: 'POST', url: `/api/jobs/${id}/cancel` })
    expect(canceled.statusCode).toBe(200)
    expect(canceled.json().state).toBe('canceled')
  })
})
