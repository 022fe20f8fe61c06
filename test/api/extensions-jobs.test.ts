/**
 * Extensions declare jobs and schedules (`er.job`, `er.cron`) and queue jobs (`er.enqueue`) from
 * their routes and hooks; the engine's workers run them with the queue's guarantees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineExtension } from '../../src/index.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe.each(dialects)('extension jobs on %s', (dialect) => {
  let t: TestEngine
  const ran: unknown[] = []
  let attempts = 0

  beforeAll(async () => {
    const setup = defineExtension((er) => {
      er.job('greet', (payload) => void ran.push(payload))
      er.job(
        'flaky',
        () => {
          attempts++
          if (attempts < 2) throw new Error('first attempt fails')
          ran.push('flaky done')
        },
        { attempts: 3, backoffMs: 10, maxBackoffMs: 20 },
      )
      er.cron('nightly', '0 3 * * *', () => void ran.push('nightly'), { tz: 'UTC' })
      er.route('POST', '/api/ext/greet', async (req) => {
        const body = req.body as { name?: string }
        return er.enqueue('greet', { name: body.name })
      })
      er.route('POST', '/api/ext/flaky', async () => er.enqueue('flaky', null))
    })
    t = await createTestEngine(dialect, {
      engine: { extension: { name: 'jobs-test', setup }, jobs: { pollMs: 20 } },
    })
    t.engine.jobs.startWorkers(2)
  })
  afterAll(() => t?.close())

  it('runs a job an extension route queued', async () => {
    const res = await t.call({ method: 'POST', url: '/api/ext/greet', payload: { name: 'Ann' } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ duplicate: false })
    await waitFor(() => ran.some((p) => (p as { name?: string })?.name === 'Ann'), 'the job')
  })

  it('retries a failing job with its own options', async () => {
    const res = await t.call({ method: 'POST', url: '/api/ext/flaky' })
    expect(res.statusCode, res.body).toBe(200)
    await waitFor(() => ran.includes('flaky done'), 'the retried job')
    expect(attempts).toBe(2)
  })

  it('registers its schedules with the engine', () => {
    const schedules = t.engine.jobs.scheduler.list().map((s) => s.name)
    expect(schedules).toContain('nightly')
  })
})
