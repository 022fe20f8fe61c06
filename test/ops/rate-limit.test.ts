/**
 * Rate limits: separate budgets for auth routes, writes and reads; per token subject or per
 * address; a 429 problem with Retry-After and RateLimit headers; and, on Redis, one budget
 * shared by two nodes.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { openRedis } from '../../src/adapters/redis/redis-client.js'
import { expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const budgets = {
  read: { max: 5, windowMs: 60_000 },
  write: { max: 3, windowMs: 60_000 },
  auth: { max: 2, windowMs: 60_000 },
}

async function engine(dialect: 'sqlite' | 'postgres', extra = {}): Promise<TestEngine> {
  const t = await createTestEngine(dialect, { rateLimit: { budgets, ...extra } })
  cleanups.push(() => t.close())
  return t
}

describe.each(await availableDialects())('rate limits on %s', (dialect) => {
  it('answers 429 with Retry-After and RateLimit headers once a budget is spent', async () => {
    const t = await engine(dialect)
    const read = () =>
      t.call({ method: 'GET', url: '/api/collections', anonymous: true, remoteAddress: '10.0.0.1' })
    for (let i = 0; i < budgets.read.max; i++) {
      const res = await read()
      expect(res.headers['ratelimit-limit']).toBe('5')
      expect(res.headers['ratelimit-remaining']).toBe(String(budgets.read.max - 1 - i))
    }
    const limited = await read()
    const problem = expectProblem(limited, 429, 'ER_RATE_LIMITED')
    expect(problem.detail).toMatch(/retry in/)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.headers['ratelimit-remaining']).toBe('0')

    // Another address has its own budget; probes are never limited.
    const other = await t.call({
      method: 'GET',
      url: '/api/collections',
      anonymous: true,
      remoteAddress: '10.0.0.2',
    })
    expect(other.statusCode).toBe(401)
    const probe = await t.call({ method: 'GET', url: '/healthz', remoteAddress: '10.0.0.1' })
    expect(probe.statusCode).toBe(200)
  })

  it('keeps separate budgets for auth routes, writes and reads', async () => {
    const t = await engine(dialect)
    const from = { remoteAddress: '10.0.0.3', anonymous: true }
    const login = () =>
      t.call({
        ...from,
        method: 'POST',
        url: '/api/collections/_superusers/auth/password',
        payload: { identity: 'root@example.com', password: 'wrong password' },
      })
    expect((await login()).statusCode).toBe(400)
    expect((await login()).statusCode).toBe(400)
    expectProblem(await login(), 429, 'ER_RATE_LIMITED')
    // Auth exhausted; writes and reads still have their own budgets.
    const write = await t.call({ ...from, method: 'POST', url: '/api/collections', payload: {} })
    expect(write.statusCode).toBe(401)
    expect(write.headers['ratelimit-limit']).toBe('3')
    const read = await t.call({ ...from, method: 'GET', url: '/api/collections' })
    expect(read.headers['ratelimit-limit']).toBe('5')
  })

  it('leaves a class that is off unlimited, and adds nothing when every class is off', async () => {
    const t = await engine(dialect, { budgets: { ...budgets, read: null } })
    for (let i = 0; i < budgets.read.max + 3; i++) {
      const res = await t.call({
        method: 'GET',
        url: '/api/collections',
        remoteAddress: '10.0.0.7',
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBeUndefined()
    }
    const write = await t.call({ method: 'POST', url: '/api/collections', payload: {} })
    expect(write.headers['ratelimit-limit']).toBe('3')
    const none = await engine(dialect, { budgets: { read: null, write: null, auth: null } })
    for (let i = 0; i < budgets.auth.max + 2; i++) {
      const login = await none.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/password',
        payload: { identity: 'root@example.com', password: 'wrong password' },
        anonymous: true,
      })
      expect(login.statusCode).toBe(400)
      expect(login.headers['ratelimit-limit']).toBeUndefined()
    }
  })

  it('gives superusers and API keys budgets of their own, each key its own', async () => {
    const window = 60_000
    const t = await engine(dialect, {
      callerBudgets: {
        superuser: { read: { max: 8, windowMs: window }, write: { max: 10, windowMs: window } },
        apiKey: { read: { max: 4, windowMs: window }, write: null },
      },
    })
    const newKey = async () => {
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: { name: 'script', scopes: [{ collection: 'users', operations: ['list'] }] },
      })
      expect(res.statusCode, res.body).toBe(201)
      // Under /auth/: the auth budget, the same for everyone.
      expect(res.headers['ratelimit-limit']).toBe('2')
      return (res.json() as { key: string }).key
    }
    const users = await t.call({
      method: 'POST',
      url: '/api/collections',
      payload: { name: 'users', type: 'auth', fields: [], rules: { list: '' } },
    })
    expect(users.statusCode, users.body).toBe(201)
    const [keyA, keyB] = [await newKey(), await newKey()]
    const user = await t.call({
      method: 'POST',
      url: '/api/collections/users/records',
      payload: { email: 'ann@example.com', password: 'a long passphrase' },
    })
    expect(user.statusCode, user.body).toBe(201)
    const login = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: 'a long passphrase' },
      anonymous: true,
    })
    const userToken = (login.json() as { token: string }).token
    const read = (token: string, remoteAddress = '10.0.0.20') =>
      t.call({
        method: 'GET',
        url: '/api/collections/users/records',
        headers: { authorization: `Bearer ${token}` },
        remoteAddress,
      })

    // The superuser: 8 reads, then 429; its person-sized budget (5) is not what applies.
    for (let i = 0; i < 8; i++) {
      const res = await read(t.token)
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe('8')
    }
    expectProblem(await read(t.token), 429, 'ER_RATE_LIMITED')
    // An ordinary user from the same address keeps the ordinary budget, untouched.
    const ann = await read(userToken)
    expect(ann.statusCode).toBe(200)
    expect(ann.headers['ratelimit-limit']).toBe('5')
    expect(ann.headers['ratelimit-remaining']).toBe('4')

    // Each API key of that (now limited) superuser has a budget of its own.
    for (let i = 0; i < 4; i++) {
      const res = await read(keyA)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe('4')
    }
    expectProblem(await read(keyA), 429, 'ER_RATE_LIMITED')
    const b = await read(keyB)
    expect(b.statusCode).toBe(200)
    expect(b.headers['ratelimit-remaining']).toBe('3')
    // A class turned off for keys: writes by key carry no budget at all.
    const write = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/records',
      headers: { authorization: `Bearer ${keyB}` },
      payload: {},
    })
    expect(write.headers['ratelimit-limit']).toBeUndefined()

    // A forged key earns neither a class nor a budget: it counts against its address.
    const forged = `erk_${randomBytes(32).toString('base64url')}`
    const stranger = await read(forged, '10.0.0.21')
    expectProblem(stranger, 401, 'ER_AUTH_TOKEN_INVALID')
    expect(stranger.headers['ratelimit-limit']).toBe('5')
    const again = await read(`erk_${randomBytes(32).toString('base64url')}`, '10.0.0.21')
    expect(again.headers['ratelimit-remaining']).toBe('3')
  })

  it('classes GraphQL requests by their document: sign-in, mutation or query', async () => {
    const t = await engine(dialect)
    const from = { remoteAddress: '10.0.0.4', anonymous: true }
    const graphql = (query: string) =>
      t.call({
        ...from,
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ query }),
      })
    const signIn = `mutation { authWithPasswordSuperusers(identity: "root@example.com", password: "wrong password") { token } }`
    for (let i = 0; i < budgets.auth.max; i++) {
      const res = await graphql(signIn)
      expect(res.headers['ratelimit-limit']).toBe('2')
      expect(res.body).toContain('ER_AUTH_INVALID_CREDENTIALS')
    }
    expectProblem(await graphql(signIn), 429, 'ER_RATE_LIMITED')
    // JSON escapes cannot hide a sign-in or a mutation from the budget: the parsed query counts.
    const escaped = JSON.stringify({ query: signIn })
      .replace('authWithPassword', 'auth\\u0057ithPassword')
      .replace('mutation', '\\u006dutation')
    expect(escaped).not.toContain('authWithPassword')
    const hidden = await t.call({
      ...from,
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: escaped,
    })
    expectProblem(hidden, 429, 'ER_RATE_LIMITED')
    const mutation = await graphql('mutation { deleteSuperusers(id: "x") }')
    expect(mutation.headers['ratelimit-limit']).toBe('3')
    for (let i = 0; i < budgets.read.max; i++) {
      const res = await graphql('{ __typename }')
      expect(res.statusCode).toBe(200)
      expect(res.headers['ratelimit-limit']).toBe('5')
    }
    expectProblem(await graphql('{ __typename }'), 429, 'ER_RATE_LIMITED')
  })

  it('counts a signed-in user by token subject, not by address', async () => {
    const t = await engine(dialect)
    for (let i = 0; i < budgets.read.max; i++) {
      const res = await t.call({
        method: 'GET',
        url: '/api/collections',
        remoteAddress: `10.1.0.${i}`,
      })
      expect(res.statusCode).toBe(200)
    }
    // Same user from a fresh address: still limited.
    expectProblem(
      await t.call({ method: 'GET', url: '/api/collections', remoteAddress: '10.1.0.99' }),
      429,
      'ER_RATE_LIMITED',
    )
    // A forged token does not get a budget of its own subject: it counts against the address.
    const forged = await t.call({
      method: 'GET',
      url: '/api/collections',
      remoteAddress: '10.1.0.99',
      headers: { authorization: `Bearer ${t.token.slice(0, -4)}AAAA` },
    })
    expect(forged.statusCode).toBe(401)
    expect(forged.headers['ratelimit-remaining']).toBe('4')
  })

  it('shares one budget across two nodes through Redis', async () => {
    const prefix = `er:test:${randomBytes(6).toString('hex')}:`
    const redis = openRedis('redis://127.0.0.1:6379')
    cleanups.push(async () => {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    })
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()))
    const nodeA = await engine(dialect, { redis, redisPrefix: prefix })
    const nodeB = await engine(dialect, { redis, redisPrefix: prefix })
    const statuses: number[] = []
    for (let i = 0; i < budgets.read.max + 1; i++) {
      const node = i % 2 === 0 ? nodeA : nodeB
      const res = await node.call({
        method: 'GET',
        url: '/api/collections',
        anonymous: true,
        remoteAddress: '10.2.0.1',
      })
      statuses.push(res.statusCode)
    }
    expect(statuses.slice(0, budgets.read.max).every((s) => s !== 429)).toBe(true)
    expect(statuses.at(-1)).toBe(429)
    expect(await redis.keys(`${prefix}*`)).toEqual([`${prefix}read:ip:10.2.0.1`])
  })
})
