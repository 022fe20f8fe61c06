/**
 * A superuser managing another account (the dashboard's Users screen) on both dialects: list and
 * revoke its sessions, read and reset its TOTP, keys made for it; each revoke and reset is in
 * the audit log. Strangers, other users and API keys are refused, and bad ids change nothing.
 */
import { authenticator } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const open = { list: '', view: '', create: '', update: '', delete: '' }
const PASSWORD = 'correct horse battery'
const base = '/api/collections/members/auth'

for (const dialect of dialects) {
  describe(`superuser account admin (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    const ids: Record<string, string> = {}
    const signIns: Record<string, { token: string; refreshToken: string }[]> = {}
    let superKey = ''

    const signIn = async (who: string) => {
      const res = await t.call({
        method: 'POST',
        url: `${base}/password`,
        payload: { identity: `${who}@example.com`, password: PASSWORD },
        anonymous: true,
      })
      expect(res.statusCode, res.body).toBe(200)
      return res.json() as { token: string; refreshToken: string; mfaRequired?: true }
    }

    beforeAll(async () => {
      t = await createTestEngine(dialect)
      await createCollection(t, { name: 'members', type: 'auth', fields: [], rules: open })
      await createCollection(t, { name: 'notes', type: 'base', fields: [], rules: open })
      for (const who of ['ann', 'bob']) {
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/members/records',
          payload: { email: `${who}@example.com`, password: PASSWORD },
        })
        ids[who] = String(res.json().id)
        signIns[who] = [await signIn(who), await signIn(who)]
      }
      const key = await t.call({
        method: 'POST',
        url: '/api/collections/_superusers/auth/api-keys',
        payload: { name: 'robot', scopes: [{ collection: '*', operations: ['list', 'view'] }] },
      })
      superKey = String(key.json().key)
    })
    afterAll(async () => {
      await t?.close()
    })

    it('lists and revokes another account’s sessions, one and then all', async () => {
      const list = await t.call({ method: 'GET', url: `${base}/sessions?record=${ids.ann}` })
      expect(list.statusCode, list.body).toBe(200)
      const sessions = list.json().items as { id: string; current: boolean }[]
      expect(sessions).toHaveLength(2)
      expect(sessions.every((s) => s.current === false)).toBe(true)
      expect(list.body).not.toMatch(/err_|refreshToken|hash/)

      // Bob's session named under Ann: not found, and nothing revoked.
      const bobs = (
        await t.call({ method: 'GET', url: `${base}/sessions?record=${ids.bob}` })
      ).json().items as { id: string }[]
      const crossed = await t.call({
        method: 'DELETE',
        url: `${base}/sessions/${bobs[0]!.id}?record=${ids.ann}`,
      })
      expect(crossed.statusCode).toBe(404)
      expect(
        (await t.call({ method: 'GET', url: `${base}/sessions?record=${ids.bob}` })).json().items,
      ).toHaveLength(2)

      const one = await t.call({
        method: 'DELETE',
        url: `${base}/sessions/${sessions[0]!.id}?record=${ids.ann}`,
      })
      expect(one.statusCode, one.body).toBe(204)
      expect(
        (await t.call({ method: 'GET', url: `${base}/sessions?record=${ids.ann}` })).json().items,
      ).toHaveLength(1)

      const all = await t.call({ method: 'DELETE', url: `${base}/sessions?record=${ids.ann}` })
      expect(all.statusCode, all.body).toBe(200)
      expect(all.json()).toEqual({ revoked: 1 })
      // Her refresh tokens are dead; Bob's still work.
      for (const { refreshToken } of signIns.ann!) {
        const res = await t.call({
          method: 'POST',
          url: `${base}/refresh`,
          payload: { refreshToken },
          anonymous: true,
        })
        expect(res.statusCode).toBe(401)
      }
      const bob = await t.call({
        method: 'POST',
        url: `${base}/refresh`,
        payload: { refreshToken: signIns.bob![0]!.refreshToken },
        anonymous: true,
      })
      expect(bob.statusCode, bob.body).toBe(200)
    })

    it('resets a lost authenticator: TOTP off, password alone signs in again', async () => {
      const ann = await signIn('ann')
      const headers = { authorization: `Bearer ${ann.token}` }
      const { secret } = (
        await t.call({ method: 'POST', url: `${base}/mfa/totp`, headers, payload: {} })
      ).json() as { secret: string }
      const confirm = await t.call({
        method: 'POST',
        url: `${base}/mfa/totp/confirm`,
        headers,
        payload: { code: authenticator.generate(secret) },
      })
      expect(confirm.statusCode, confirm.body).toBe(200)
      expect((await signIn('ann')).mfaRequired).toBe(true)

      const status = await t.call({ method: 'GET', url: `${base}/mfa?record=${ids.ann}` })
      expect(status.json()).toEqual({ enabled: true, recoveryCodesLeft: 10 })
      const reset = await t.call({
        method: 'POST',
        url: `${base}/mfa/reset`,
        payload: { record: ids.ann },
      })
      expect(reset.statusCode, reset.body).toBe(204)
      expect(
        (await t.call({ method: 'GET', url: `${base}/mfa?record=${ids.ann}` })).json(),
      ).toEqual({ enabled: false, recoveryCodesLeft: 0 })
      const again = await signIn('ann')
      expect(again.mfaRequired).toBeUndefined()
      expect(again.token).toMatch(/^ey/)
      const twice = await t.call({
        method: 'POST',
        url: `${base}/mfa/reset`,
        payload: { record: ids.ann },
      })
      expect(twice.statusCode).toBe(404)
    })

    it('makes, lists and revokes a key for another account (shown once)', async () => {
      const made = await t.call({
        method: 'POST',
        url: `${base}/api-keys`,
        payload: {
          name: 'ann-sync',
          record: ids.bob,
          scopes: [{ collection: 'notes', operations: ['list'] }],
        },
      })
      expect(made.statusCode, made.body).toBe(201)
      const key = String(made.json().key)
      expect(key).toMatch(/^erk_/)
      const listed = await t.call({ method: 'GET', url: `${base}/api-keys?record=${ids.bob}` })
      expect(listed.json().items).toHaveLength(1)
      expect(listed.body).not.toContain(key)
      const keyId = String(listed.json().items[0].id)
      const gone = await t.call({
        method: 'DELETE',
        url: `${base}/api-keys/${keyId}?record=${ids.bob}`,
      })
      expect(gone.statusCode).toBe(204)
      const use = await t.call({
        method: 'GET',
        url: '/api/collections/notes/records',
        headers: { authorization: `Bearer ${key}` },
      })
      expect(use.statusCode).toBe(401)
    })

    it('records each revoke and reset in the audit log, by whom', async () => {
      const items = (await t.call({ method: 'GET', url: '/api/audit?perPage=500' })).json()
        .items as { action: string; target: string; actor: string; detail: object }[]
      const mine = items.filter((r) => r.action.startsWith('auth.'))
      expect(mine.map((r) => `${r.action} ${r.target}`)).toEqual([
        `auth.sessions.revoke members/${ids.ann}`,
        `auth.sessions.revoke members/${ids.ann}`,
        `auth.mfa.reset members/${ids.ann}`,
      ])
      expect(mine[0]?.detail).toMatchObject({ revoked: 1 })
      expect(mine.every((r) => r.actor.startsWith('_superusers/'))).toBe(true)
    })

    it('refuses strangers, users, API keys and bad ids, changing nothing', async () => {
      const bob = { authorization: `Bearer ${(await signIn('bob')).token}` }
      const key = { authorization: `Bearer ${superKey}` }
      const cases: [string, string, Record<string, string> | undefined, unknown, number][] = [
        ['GET', `${base}/sessions?record=${ids.ann}`, {}, undefined, 401],
        ['GET', `${base}/sessions?record=${ids.ann}`, bob, undefined, 403],
        ['DELETE', `${base}/sessions?record=${ids.ann}`, bob, undefined, 403],
        ['POST', `${base}/mfa/reset`, bob, { record: ids.ann }, 403],
        ['GET', `${base}/mfa?record=${ids.ann}`, bob, undefined, 403],
        ['GET', `${base}/sessions?record=${ids.ann}`, key, undefined, 403],
        ['POST', `${base}/mfa/reset`, key, { record: ids.ann }, 403],
        ['GET', `${base}/sessions?record=..%2Fx`, undefined, undefined, 400],
        ['POST', `${base}/mfa/reset`, undefined, { record: 42 }, 400],
        ['POST', `${base}/mfa/reset`, undefined, {}, 400],
        ['GET', `${base}/sessions?record=nobody`, undefined, undefined, 404],
        ['POST', '/api/collections/notes/auth/mfa/reset', undefined, { record: ids.ann }, 404],
      ]
      const before = (await t.call({ method: 'GET', url: '/api/audit?perPage=500' })).json().items
        .length
      for (const [method, url, headers, payload, status] of cases) {
        const res = await t.call({
          method: method as 'GET',
          url,
          ...(headers ? { headers } : {}),
          ...(payload === undefined ? {} : { payload: payload as object }),
          anonymous: headers !== undefined && !headers.authorization,
        })
        expect(res.statusCode, `${method} ${url} ${res.body}`).toBe(status)
        expect(res.headers['content-type']).toContain('application/problem+json')
        if (status === 400) expect(res.body).toContain('record')
      }
      const after = (await t.call({ method: 'GET', url: '/api/audit?perPage=500' })).json().items
      expect(after.length).toBe(before)
      // Bob's own sessions were never touched by any of it.
      expect(
        (await t.call({ method: 'GET', url: `${base}/sessions?record=${ids.bob}` })).json().items
          .length,
      ).toBeGreaterThanOrEqual(2)
    })
  })
}
