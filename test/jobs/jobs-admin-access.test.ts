/**
 * Who may use `/api/jobs` and `/api/webhooks`: superusers; an API key of a superuser only with
 * the `*` scope naming the operation; users of another auth collection and strangers never.
 * The OpenAPI document shows these paths to superusers only.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cliContext } from '../../src/services/context.js'
import { availableDialects } from '../helpers/dialects.js'
import { createJobsEngine, type JobsEngine } from '../helpers/jobs-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('jobs and webhooks admin access on %s', (dialect) => {
  let t: JobsEngine
  afterEach(async () => {
    await t?.close()
  })

  it('superusers only; API keys per scope; paths in the superuser’s OpenAPI document', async () => {
    t = await createJobsEngine(dialect)
    const ctx = cliContext(t.engine.registry.get('_superusers'))
    await t.engine.schema.createCollection(ctx, { name: 'users', type: 'auth', fields: [] })
    await t.engine.records.create(ctx, 'users', {
      email: 'ann@example.com',
      password: 'correct horse battery',
    })
    const login = await t.call({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: 'ann@example.com', password: 'correct horse battery' },
      anonymous: true,
    })
    const userToken = login.json().token as string
    const key = async (scopes: object[]) => {
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: { name: 'k', scopes, expiresInDays: 1 },
      })
      expect(res.statusCode, res.body).toBe(201)
      return res.json().key as string
    }
    const narrow = await key([{ collection: 'users', operations: ['list', 'view'] }])
    const readAll = await key([{ collection: '*', operations: ['list', 'view'] }])
    const as = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
      t.call({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      })
    const hook = { url: 'https://example.com/hook', collection: 'users', actions: ['create'] }

    for (const url of ['/api/jobs', '/api/webhooks']) {
      expect((await t.call({ method: 'GET', url, anonymous: true })).statusCode, url).toBe(401)
      expect((await as(userToken, 'GET', url)).statusCode, url).toBe(403)
      expect((await as(narrow, 'GET', url)).statusCode, url).toBe(403)
      expect((await as(readAll, 'GET', url)).statusCode, url).toBe(200)
      expect((await t.call({ method: 'GET', url })).statusCode, url).toBe(200)
    }
    expect((await as(userToken, 'POST', '/api/webhooks', hook)).statusCode).toBe(403)
    expect((await as(readAll, 'POST', '/api/webhooks', hook)).statusCode).toBe(403)
    expect((await t.call({ method: 'POST', url: '/api/webhooks', payload: hook })).statusCode).toBe(
      201,
    )
    expect((await as(userToken, 'POST', '/api/jobs/nope/retry')).statusCode).toBe(403)
    expect((await t.call({ method: 'POST', url: '/api/jobs/nope/retry' })).statusCode).toBe(404)
    expect((await t.call({ method: 'GET', url: '/api/jobs?state=lost' })).statusCode).toBe(400)
    expect((await t.call({ method: 'GET', url: '/api/jobs?perPage=0' })).statusCode).toBe(400)
    expect(
      (await t.call({ method: 'POST', url: '/api/webhooks', payload: [1, 2] })).statusCode,
    ).toBe(400)

    const doc = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/jobs',
        '/api/jobs/{id}/retry',
        '/api/webhooks/{id}/deliveries',
      ]),
    )
    const anonymousDoc = (
      await t.call({ method: 'GET', url: '/api/openapi.json', anonymous: true })
    ).json()
    expect(Object.keys(anonymousDoc.paths)).not.toContain('/api/jobs')
    expect(Object.keys(anonymousDoc.paths)).not.toContain('/api/webhooks')
  })
})
