/**
 * The dashboard's observability endpoints on both dialects: `/api/admin/metrics` counts the
 * traffic just made, `/api/admin/logs` filters the captured lines by level, route, status and
 * request id, never shows a password or token, and both are for signed-in superusers only.
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogRing } from '../../src/http/ops/log-ring.js'
import { loggerOptions } from '../../src/http/plugins/logger-options.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const open = { list: '', view: '', create: '', update: '', delete: '' }
const PASSWORD = 'correct horse battery'

for (const dialect of dialects) {
  describe(`observability endpoints (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    let userToken = ''
    let keyOfSuperuser = ''
    const stdout: string[] = []

    beforeAll(async () => {
      const ring = createLogRing()
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          stdout.push(chunk.toString())
          done()
        },
      })
      t = await createTestEngine(dialect, {
        logger: loggerOptions({ level: 'info', stream: sink, onLine: ring.push }),
        observability: { logs: ring },
      })
      await createCollection(t, {
        name: 'notes',
        type: 'base',
        fields: [{ name: 'title', type: 'text' }],
        rules: open,
      })
      await createCollection(t, { name: 'members', type: 'auth', fields: [], rules: open })
      const member = await t.call({
        method: 'POST',
        url: '/api/collections/members/records',
        payload: { email: 'ann@example.com', password: PASSWORD },
      })
      expect(member.statusCode, member.body).toBe(201)
      const login = await t.call({
        method: 'POST',
        url: '/api/collections/members/auth/password',
        payload: { identity: 'ann@example.com', password: PASSWORD },
        anonymous: true,
      })
      userToken = String(login.json().token)
      const key = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: { name: 'ops', scopes: [{ collection: '*', operations: ['list', 'view'] }] },
      })
      expect(key.statusCode, key.body).toBe(201)
      keyOfSuperuser = String(key.json().key)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('counts the requests just made in the interval under way', async () => {
      const before = (await t.call({ method: 'GET', url: '/api/admin/metrics' })).json()
      for (let i = 0; i < 12; i++) {
        await t.call({ method: 'GET', url: '/api/collections/notes/records' })
      }
      await t.call({ method: 'GET', url: '/api/collections/nowhere/records' })
      const res = await t.call({ method: 'GET', url: '/api/admin/metrics' })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      const body = res.json()
      expect(body.intervalSeconds).toBe(10)
      expect(Array.isArray(body.points)).toBe(true)
      // 12 lists, the 404 and the first metrics read (the second is answered after this count).
      expect(body.current.requests - before.current.requests).toBe(14)
      expect(body.current.clientErrors - before.current.clientErrors).toBe(1)
      expect(body.current.p95Ms).toBeGreaterThan(0)
    })

    it('filters the log by request id, status, route and level', async () => {
      await t.call({
        method: 'GET',
        url: '/api/collections/notes/records/nope',
        headers: { 'x-request-id': 'trace-me-404' },
      })
      const byId = await t.call({ method: 'GET', url: '/api/admin/logs?requestId=trace-me-404' })
      expect(byId.statusCode, byId.body).toBe(200)
      const items = byId.json().items as Record<string, unknown>[]
      expect(items).toHaveLength(1)
      expect(items[0]).toMatchObject({
        reqId: 'trace-me-404',
        status: 404,
        route: '/api/collections/:name/records/:id',
        levelName: 'info',
      })
      const fourxx = (await t.call({ method: 'GET', url: '/api/admin/logs?status=4xx' })).json()
        .items as { status: number }[]
      expect(fourxx.length).toBeGreaterThanOrEqual(2)
      expect(fourxx.every((l) => l.status >= 400 && l.status < 500)).toBe(true)
      const route = (
        await t.call({ method: 'GET', url: '/api/admin/logs?route=/auth/password&status=200' })
      ).json().items as { path: string }[]
      expect(route.map((l) => l.path)).toEqual(['/api/collections/members/auth/password'])
      const errors = (await t.call({ method: 'GET', url: '/api/admin/logs?level=error' })).json()
      expect(errors.capturing).toBe(true)
      expect(errors.items).toEqual([])
    })

    it('holds no password or token, as stdout holds none', async () => {
      // A secret sent where a careless log line would keep it: in the query string.
      await t.call({ method: 'GET', url: `/api/collections/notes/records?token=${userToken}` })
      const all = await t.call({ method: 'GET', url: '/api/admin/logs?limit=1000' })
      expect(all.json().items.length).toBeGreaterThan(5)
      for (const text of [all.body, stdout.join('')]) {
        expect(text).not.toContain(PASSWORD)
        expect(text).not.toContain(userToken)
        expect(text).not.toContain(t.token)
        expect(text).not.toContain(keyOfSuperuser)
      }
    })

    it('is described to superusers in the OpenAPI document, and not to others', async () => {
      const mine = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json()
      expect(Object.keys(mine.paths)).toEqual(
        expect.arrayContaining([
          '/api/admin/metrics',
          '/api/admin/logs',
          '/api/collections/members/auth/mfa/reset',
        ]),
      )
      const anonymous = await t.call({ method: 'GET', url: '/api/openapi.json', anonymous: true })
      expect(anonymous.body).not.toContain('/api/admin/')
    })

    it('answers strangers 401, users and API keys 403, bad filters 400 naming them', async () => {
      const cases: [string, Record<string, string>, number][] = [
        ['/api/admin/metrics', {}, 401],
        ['/api/admin/logs', {}, 401],
        ['/api/admin/metrics', { authorization: `Bearer ${userToken}` }, 403],
        ['/api/admin/logs', { authorization: `Bearer ${userToken}` }, 403],
        ['/api/admin/logs', { authorization: `Bearer ${keyOfSuperuser}` }, 403],
        ['/api/admin/metrics', { authorization: `Bearer ${keyOfSuperuser}` }, 403],
      ]
      for (const [url, headers, status] of cases) {
        const res = await t.call({ method: 'GET', url, headers, anonymous: !headers.authorization })
        expect(res.statusCode, `${url} ${res.body}`).toBe(status)
        expect(res.headers['content-type']).toContain('application/problem+json')
      }
      for (const query of ['status=abc', 'level=loud', 'limit=0', 'limit=5000']) {
        const res = await t.call({ method: 'GET', url: `/api/admin/logs?${query}` })
        expect(res.statusCode, `${query} ${res.body}`).toBe(400)
        expect(res.body).toContain(query.split('=')[0])
      }
    })
  })
}
