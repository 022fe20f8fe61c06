import { authenticator } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long enough password'
/** The code an authenticator app shows `steps` 30-second steps from now. */
const codeAt = (secret: string, steps = 0) =>
  authenticator.clone({ epoch: Date.now() + steps * 30_000 }).generate(secret)

describe.each(dialects)('TOTP two-factor sign-in on %s', (dialect) => {
  let t: TestEngine
  const post = (path: string, payload: object, token?: string) =>
    t.app.inject({
      method: 'POST',
      url: `/api/collections/users/auth/${path}`,
      payload,
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    })
  const login = () => post('password', { identity: 'ann@example.com', password: PASSWORD })

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, { name: 'users', type: 'auth', fields: [] })
    await createRecord(t, 'users', { email: 'ann@example.com', password: PASSWORD })
  })
  afterAll(async () => {
    await t.close()
  })

  it('enrol → confirm → password login needs a code → TOTP or a one-time recovery code completes it', async () => {
    const { token } = (await login()).json() as { token: string }
    const enrol = await post('mfa/totp', {}, token)
    expect(enrol.statusCode, enrol.body).toBe(200)
    const { secret, otpauthUrl } = enrol.json() as { secret: string; otpauthUrl: string }
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Engine%20Room:ann%40example\.com\?secret=/)
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    // Pending enrolment does not change sign-in yet, and a wrong code does not confirm it.
    expect((await login()).json()).toHaveProperty('token')
    expectProblem(
      await post(
        'mfa/totp/confirm',
        { code: '000000' === codeAt(secret) ? '111111' : '000000' },
        token,
      ),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    const confirm = await post('mfa/totp/confirm', { code: codeAt(secret) }, token)
    expect(confirm.statusCode, confirm.body).toBe(200)
    const { recoveryCodes } = confirm.json() as { recoveryCodes: string[] }
    expect(recoveryCodes).toHaveLength(10)
    const status = await t.app.inject({
      method: 'GET',
      url: '/api/collections/users/auth/mfa',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(status.json()).toEqual({ enabled: true, recoveryCodesLeft: 10 })

    const challenge = (await login()).json() as Record<string, unknown>
    expect(challenge).toEqual({ mfaRequired: true, mfaToken: expect.stringMatching(/^erm_/) })
    expectProblem(
      await post('mfa/verify', { mfaToken: challenge.mfaToken, code: codeAt(secret, 5) }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    // The code confirming enrolment cannot be replayed (RFC 6238 §5.2)…
    expectProblem(
      await post('mfa/verify', { mfaToken: challenge.mfaToken, code: codeAt(secret) }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    // …but the next step's code (clock drift allowance) completes the sign-in, once.
    const done = await post('mfa/verify', { mfaToken: challenge.mfaToken, code: codeAt(secret, 1) })
    expect(done.statusCode, done.body).toBe(200)
    expect(Object.keys(done.json() as object).sort()).toEqual(['record', 'refreshToken', 'token'])
    expectProblem(
      await post('mfa/verify', { mfaToken: challenge.mfaToken, code: codeAt(secret, 1) }),
      400,
      'ER_AUTH_LINK_INVALID',
    )

    const second = (await login()).json() as { mfaToken: string }
    const recovery = recoveryCodes[0] as string
    const viaRecovery = await post('mfa/verify', {
      mfaToken: second.mfaToken,
      recoveryCode: recovery.toUpperCase(),
    })
    expect(viaRecovery.statusCode, viaRecovery.body).toBe(200)
    const third = (await login()).json() as { mfaToken: string }
    expectProblem(
      await post('mfa/verify', { mfaToken: third.mfaToken, recoveryCode: recovery }),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )

    // The secret never reappears, and is not stored in clear.
    const raw = await t.engine.store.auth.getMfa(
      t.engine.registry.get('users').id,
      (done.json() as { record: { id: string } }).record.id,
    )
    expect(raw?.secret).not.toContain(secret)
    expect(JSON.stringify(raw)).not.toContain(recovery)

    // Disabling needs a valid code; then password alone signs in again.
    const fresh = (done.json() as { token: string }).token
    expectProblem(
      await post('mfa/totp/disable', { code: '12345' }, fresh),
      400,
      'ER_AUTH_INVALID_CREDENTIALS',
    )
    expect(
      (await post('mfa/totp/disable', { recoveryCode: recoveryCodes[1] as string }, fresh))
        .statusCode,
    ).toBe(204)
    expect((await login()).json()).toHaveProperty('token')
  })

  it('throttles code guessing on a challenge', async () => {
    const { token } = (await login()).json() as { token: string }
    const { secret } = (await post('mfa/totp', {}, token)).json() as { secret: string }
    expect((await post('mfa/totp/confirm', { code: codeAt(secret) }, token)).statusCode).toBe(200)
    const { mfaToken } = (await login()).json() as { mfaToken: string }
    const wrong = codeAt(secret) === '123456' ? '654321' : '123456'
    // At most five wrong codes (earlier failures of this account count too) before the lock.
    let wrongAnswers = 0
    while (wrongAnswers < 6) {
      const res = await post('mfa/verify', { mfaToken, code: wrong })
      if (res.statusCode === 429) break
      expectProblem(res, 400, 'ER_AUTH_INVALID_CREDENTIALS')
      wrongAnswers++
    }
    expect(wrongAnswers).toBeLessThanOrEqual(5)
    const locked = await post('mfa/verify', { mfaToken, code: codeAt(secret, 1) })
    expectProblem(locked, 429, 'ER_AUTH_THROTTLED')
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expectProblem(
      await post('mfa/verify', { mfaToken: 'erm_nope', code: '123456' }),
      400,
      'ER_AUTH_LINK_INVALID',
    )
  })

  it('throttles code guessing on disable, so a stolen token cannot turn the factor off', async () => {
    await createRecord(t, 'users', { email: 'dan@example.com', password: PASSWORD })
    const signIn = () => post('password', { identity: 'dan@example.com', password: PASSWORD })
    const { token } = (await signIn()).json() as { token: string }
    const { secret } = (await post('mfa/totp', {}, token)).json() as { secret: string }
    expect((await post('mfa/totp/confirm', { code: codeAt(secret) }, token)).statusCode).toBe(200)
    const wrong = codeAt(secret) === '123456' ? '654321' : '123456'
    let wrongAnswers = 0
    while (wrongAnswers < 6) {
      const res = await post('mfa/totp/disable', { code: wrong }, token)
      if (res.statusCode === 429) break
      expectProblem(res, 400, 'ER_AUTH_INVALID_CREDENTIALS')
      wrongAnswers++
    }
    expect(wrongAnswers).toBe(5)
    // Locked: even the right code is refused now, and the factor stays on.
    const locked = await post('mfa/totp/disable', { code: codeAt(secret, 1) }, token)
    expectProblem(locked, 429, 'ER_AUTH_THROTTLED')
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect((await signIn()).json()).toHaveProperty('mfaRequired', true)
  })
})
