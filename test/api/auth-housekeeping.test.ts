/**
 * Housekeeping deletes auth rows nothing can use any more (expired or long-revoked sessions with
 * their refresh tokens, expired one-time tokens, quiet throttle counters) and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionRow } from '../../src/adapters/store/store.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const HOUR = 3600 * 1000
const DAY = 24 * HOUR
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString()

describe.each(await availableDialects())('auth housekeeping on %s', (dialect) => {
  let t: TestEngine
  let collectionId = ''
  let recordId = ''

  beforeAll(async () => {
    t = await createTestEngine(dialect, { engine: { housekeepingMs: 0 } })
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    const user = await createRecord(t, 'users', {
      email: 'ann@example.com',
      password: 'a long enough password',
    })
    collectionId = t.engine.registry.get('users').id
    recordId = user.id as string
  })
  afterAll(() => t.close())

  async function session(id: string, expires: string, revoked: string | null): Promise<void> {
    const row: SessionRow = {
      id,
      collectionId,
      recordId,
      tokenKey: 'fingerprint',
      created: at(-30 * DAY),
      lastUsed: at(-DAY),
      expires,
      revoked,
      userAgent: 'test',
      ip: '127.0.0.1',
    }
    await t.engine.store.auth.insertSession(row)
    await t.engine.store.auth.insertRefreshToken({
      hash: `rt-${id}`,
      sessionId: id,
      created: row.created,
      used: null,
    })
  }

  async function oneTimeToken(hash: string, expires: string): Promise<void> {
    await t.engine.store.auth.insertOneTimeToken({
      hash,
      purpose: 'verify',
      collectionId,
      recordId,
      email: 'ann@example.com',
      expires,
      used: null,
    })
  }

  it('deletes what has expired and keeps what can still be used', async () => {
    const auth = t.engine.store.auth
    await session('expired', at(-HOUR), null)
    await session('revoked-long-ago', at(DAY), at(-8 * DAY))
    await session('revoked-yesterday', at(DAY), at(-DAY))
    await session('live', at(DAY), null)
    await oneTimeToken('ott-expired', at(-HOUR))
    await oneTimeToken('ott-live', at(HOUR))
    // Quiet and unlocked; quiet but still locked; failing recently.
    await auth.addThrottleFailure('quiet', at(-2 * HOUR))
    await auth.addThrottleFailure('locked', at(-2 * HOUR))
    await auth.setThrottleLock('locked', at(HOUR))
    await auth.addThrottleFailure('recent', at(-60_000))

    const deleted = await t.engine.housekeeping.run()
    expect(deleted).toEqual({ sessions: 2, refreshTokens: 2, oneTimeTokens: 1, throttle: 1 })

    for (const id of ['expired', 'revoked-long-ago']) {
      expect(await auth.getSession(id)).toBeUndefined()
      expect(await auth.getRefreshToken(`rt-${id}`)).toBeUndefined()
    }
    for (const id of ['revoked-yesterday', 'live']) {
      expect((await auth.getSession(id))?.id).toBe(id)
      expect((await auth.getRefreshToken(`rt-${id}`))?.sessionId).toBe(id)
    }
    const before = at(-2 * DAY)
    expect(await auth.findOneTimeToken('ott-expired', 'verify', before)).toBeUndefined()
    expect((await auth.findOneTimeToken('ott-live', 'verify', before))?.hash).toBe('ott-live')
    const throttle = await auth.getThrottle(['quiet', 'locked', 'recent'])
    expect(throttle.map((row) => row.key).sort()).toEqual(['locked', 'recent'])

    // A second sweep finds nothing more.
    expect(await t.engine.housekeeping.run()).toEqual({
      sessions: 0,
      refreshTokens: 0,
      oneTimeTokens: 0,
      throttle: 0,
    })
  })

  it('sweeps on its own timer', async () => {
    const timed = await createTestEngine(dialect, { engine: { housekeepingMs: 50 } })
    try {
      await createCollection(timed, { name: 'users', type: 'auth', fields: [] })
      await timed.engine.store.auth.insertOneTimeToken({
        hash: 'ott-timer',
        purpose: 'verify',
        collectionId: timed.engine.registry.get('users').id,
        recordId: 'someone',
        email: 'someone@example.com',
        expires: at(-HOUR),
        used: null,
      })
      const find = () =>
        timed.engine.store.auth.findOneTimeToken('ott-timer', 'verify', at(-2 * DAY))
      await expect.poll(find, { timeout: 5000 }).toBeUndefined()
    } finally {
      await timed.close()
    }
  })
})
