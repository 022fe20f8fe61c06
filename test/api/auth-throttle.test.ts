import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'

describe.each(dialects)('sign-in throttling and enumeration on %s', (dialect) => {
  let t: TestEngine
  let now = Date.parse('2026-11-28T12:00:00Z')
  const advance = (ms: number) => {
    now += ms
  }
  const attempt = (identity: string, password: string, ip = '203.0.113.7') =>
    t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity, password },
      remoteAddress: ip,
    })

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      engine: {
        clock: { now: () => new Date(now) },
        throttle: {
          accountFailures: 3,
          ipFailures: 8,
          baseLockSeconds: 1,
          maxLockSeconds: 60,
          forgetAfterSeconds: 3600,
        },
      },
    })
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
    await createRecord(t, 'users', { email: 'bob@example.com', password: PASSWORD })
  })
  afterAll(async () => {
    await t.close()
  })

  it('locks an account with growing delays, and the lock holds even for the right password', async () => {
    for (let i = 0; i < 3; i++)
      expectProblem(
        await attempt('ann@example.com', 'wrong', `198.51.100.${i}`),
        400,
        'ER_AUTH_INVALID_CREDENTIALS',
      )
    const locked = await attempt('ann@example.com', PASSWORD, '198.51.100.9')
    expectProblem(locked, 429, 'ER_AUTH_THROTTLED')
    expect(locked.headers['retry-after']).toBe('1')
    const delays: string[] = []
    for (let round = 0; round < 4; round++) {
      advance(Number(delays.at(-1) ?? 1) * 1000)
      expectProblem(
        await attempt('ann@example.com', 'wrong', '198.51.100.20'),
        400,
        'ER_AUTH_INVALID_CREDENTIALS',
      )
      const res = await attempt('ann@example.com', PASSWORD, '198.51.100.21')
      expect(expectProblem(res, 429, 'ER_AUTH_THROTTLED').retryAfter).toBe(
        Number(res.headers['retry-after']),
      )
      delays.push(res.headers['retry-after'] as string)
    }
    expect(delays).toEqual(['2', '4', '8', '16'])
    advance(16_000)
    const ok = await attempt('ann@example.com', PASSWORD, '198.51.100.22')
    expect(ok.statusCode, ok.body).toBe(200)
    // Success cleared the account counter: one failure no longer locks.
    expectProblem(
      await attempt('ann@example.com', 'wrong', '198.51.100.23'),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    expect((await attempt('ann@example.com', PASSWORD, '198.51.100.24')).statusCode).toBe(200)
  })

  it('answers an unknown e-mail exactly like a wrong password, throttle included', async () => {
    const wrong = await attempt('bob@example.com', 'wrong', '192.0.2.1')
    const unknown = await attempt('nobody@example.com', 'wrong', '192.0.2.2')
    expect(unknown.statusCode).toBe(wrong.statusCode)
    expect(unknown.body).toBe(wrong.body)
    for (let i = 0; i < 2; i++) await attempt('nobody@example.com', 'wrong', '192.0.2.3')
    const locked = await attempt('nobody@example.com', 'wrong', '192.0.2.4')
    expectProblem(locked, 429, 'ER_AUTH_THROTTLED')
    expect(locked.headers['retry-after']).toBe('1')
  })

  it('locks an IP that guesses across many accounts, not other IPs', async () => {
    advance(60_000)
    for (let i = 0; i < 8; i++) {
      expectProblem(
        await attempt(`guess${i}@example.com`, 'wrong', '203.0.113.99'),
        400,
        'ER_AUTH_INVALID_CREDENTIALS',
      )
    }
    const locked = await attempt('bob@example.com', PASSWORD, '203.0.113.99')
    expectProblem(locked, 429, 'ER_AUTH_THROTTLED')
    expect(locked.headers['retry-after']).toBe('1')
    expect((await attempt('bob@example.com', PASSWORD, '203.0.113.100')).statusCode).toBe(200)
  })

  it('rejects over-long input before any work, naming the field', async () => {
    const long = await attempt('a'.repeat(300) + '@example.com', 'x')
    expect(expectProblem(long, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('identity')
    const longPassword = await attempt('ann@example.com', 'x'.repeat(300))
    expect(expectProblem(longPassword, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
      'password',
    )
  })
})
