/**
 * First-run setup: while no superuser exists a one-time token creates the first one through
 * `POST /api/setup`. Wrong, expired, reused or late (a superuser exists) tokens are refused and
 * change nothing; a validation mistake keeps the link usable.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../src/http/server.js'
import { createFirstRunSetup, type FirstRunSetup } from '../../src/services/auth/first-run-setup.js'
import { cliContext } from '../../src/services/context.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openTestStore, testPasswords } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const PASSWORD = 'a long passphrase'

describe.each(dialects)('first-run setup (%s)', (dialect) => {
  let engine: Engine
  let app: FastifyInstance
  let setup: FirstRunSetup
  let now = Date.now()
  let cleanup: () => Promise<void>
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/setup', payload })
  const superuserCount = async () =>
    (await engine.records.list(cliContext(engine.registry.get('_superusers')), '_superusers', {}))
      .items.length

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-setup-'))
    const { store, drop } = await openTestStore(dialect, dir)
    const clock = { now: () => new Date(now) }
    engine = await createEngine({
      store,
      migrationsDir: join(dir, 'migrations'),
      passwords: testPasswords,
      clock,
      housekeepingMs: 0,
    })
    setup = createFirstRunSetup({
      store,
      registry: engine.registry,
      records: engine.records,
      clock,
    })
    app = await buildServer(engine, { firstRunSetup: setup })
    cleanup = async () => {
      await app.close()
      await engine.close()
      await drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
  afterAll(() => cleanup())

  it('serves the setup page with no inline script', async () => {
    const page = await app.inject({ method: 'GET', url: '/_/setup' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('data-page="setup"')
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)/)
    expect(page.headers['cache-control']).toBe('no-store')
  })

  it('refuses everything before a token was issued, and a wrong or expired token', async () => {
    expectProblem(
      await post({ token: 'ers_x', email: 'a@example.com', password: PASSWORD }),
      403,
      'ER_SETUP_LINK_INVALID',
    )
    const token = await setup.issue()
    expect(token).toMatch(/^ers_[A-Za-z0-9_-]{43}$/)
    // One character off, and the same length: compared in constant time, refused alike.
    const wrong = `${token!.slice(0, -1)}${token!.endsWith('A') ? 'B' : 'A'}`
    expectProblem(
      await post({ token: wrong, email: 'a@example.com', password: PASSWORD }),
      403,
      'ER_SETUP_LINK_INVALID',
    )
    expectProblem(
      await post({ email: 'a@example.com', password: PASSWORD }),
      403,
      'ER_SETUP_LINK_INVALID',
    )
    now += 3601 * 1000
    expectProblem(
      await post({ token, email: 'a@example.com', password: PASSWORD }),
      403,
      'ER_SETUP_LINK_INVALID',
    )
    expect(await superuserCount()).toBe(0)
  })

  it('keeps the link through a validation mistake, then creates the superuser once', async () => {
    const token = await setup.issue()
    const short = await post({ token, email: 'admin@example.com', password: 'short' })
    const problem = expectProblem(short, 400, 'ER_VALIDATION_FAILED')
    expect(problem.errors).toHaveProperty('password')
    const bad = await post({ token, email: 'not an e-mail', password: PASSWORD })
    expect(expectProblem(bad, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('email')
    expect(await superuserCount()).toBe(0)

    const [first, second] = await Promise.all([
      post({ token, email: 'admin@example.com', password: PASSWORD }),
      post({ token, email: 'thief@example.com', password: PASSWORD }),
    ])
    expect([first!.statusCode, second!.statusCode].sort()).toEqual([201, 403])
    const created = (first!.statusCode === 201 ? first : second)!.json()
    expect(created).toMatchObject({ email: 'admin@example.com' })
    expect(created).not.toHaveProperty('password')
    expect(await superuserCount()).toBe(1)

    const login = await app.inject({
      method: 'POST',
      url: '/api/collections/_superusers/auth/password',
      payload: { identity: 'admin@example.com', password: PASSWORD },
    })
    expect(login.statusCode).toBe(200)
    expectProblem(
      await post({ token, email: 'b@example.com', password: PASSWORD }),
      403,
      'ER_SETUP_LINK_INVALID',
    )
  })

  it('answers hostile bodies with a problem, never a 500', async () => {
    const cases: [string, string, number][] = [
      ['not json', '{"token": ', 400],
      ['an array', '[1,2]', 403],
      ['a token object', '{"token": {"$ne": null}}', 403],
      ['a huge token', JSON.stringify({ token: `ers_${'a'.repeat(100_000)}` }), 403],
    ]
    for (const [what, payload, status] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/setup',
        payload,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.statusCode, what).toBe(status)
      expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
    }
  })

  it('issues nothing once a superuser exists', async () => {
    expect(await setup.issue()).toBeUndefined()
  })
})
