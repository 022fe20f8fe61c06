/**
 * `POST|GET /api/privacy/consents` on both dialects: a person records consent given and
 * withdrawn for declared purposes, each change a row stamped with the engine's clock, the
 * caller, ip and user agent; superusers read anyone's; another auth collection's record with the
 * same id is another person; bad input is a problem naming the field and stores nothing; the
 * history is in the privacy export and goes with an erasure, which the audit still records.
 */
import { createGunzip } from 'node:zlib'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { manualClock } from '../helpers/jobs-engine.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'
import { MAX_CONSENT_CHANGES } from '../../src/services/privacy/privacy-consents.js'

const dialects = await availableDialects()
const open = { list: '', view: '', create: '', update: '', delete: '' }
const PASSWORD = 'correct horse battery'
const START = new Date('2030-01-02T03:04:05.678Z')

async function exportJson(body: Buffer): Promise<Record<string, unknown>> {
  const tar = extract()
  const files = new Map<string, string>()
  tar.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: unknown) => void chunks.push(c as Buffer))
    stream.on('end', () => {
      files.set(header.name, Buffer.concat(chunks).toString())
      next()
    })
  })
  await new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve)
    tar.on('error', reject)
    Readable.from([body]).pipe(createGunzip()).pipe(tar)
  })
  return JSON.parse(files.get('export.json') ?? '{}') as Record<string, unknown>
}

for (const dialect of dialects) {
  describe(`privacy consents (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine
    const clock = manualClock(START)
    const ids: Record<string, string> = {}
    const tokens: Record<string, string> = {}

    const consent = (payload: unknown, token: string | undefined, headers = {}) =>
      t.call({
        method: 'POST',
        url: '/api/privacy/consents',
        payload: payload as Record<string, unknown>,
        remoteAddress: '203.0.113.7',
        headers: {
          'user-agent': 'ConsentTest/1',
          ...headers,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(token ? {} : { anonymous: true }),
      })
    const read = (token?: string, query = '') =>
      t.call({
        method: 'GET',
        url: `/api/privacy/consents${query}`,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })
    const signIn = async (collection: string, email: string) => {
      const res = await t.call({
        method: 'POST',
        url: `/api/collections/${collection}/auth/password`,
        payload: { identity: email, password: PASSWORD },
        anonymous: true,
      })
      expect(res.statusCode, res.body).toBe(200)
      return String(res.json().token)
    }

    beforeAll(async () => {
      t = await createTestEngine(dialect, {
        engine: { clock, consentPurposes: ['newsletter', 'analytics'] },
      })
      await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: open })
      await createCollection(t, { name: 'members', type: 'auth', fields: [], rules: open })
      for (const name of ['ann', 'bob']) {
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/users/records',
          payload: { email: `${name}@example.com`, password: PASSWORD },
        })
        expect(res.statusCode, res.body).toBe(201)
        ids[name] = String(res.json().id)
        tokens[name] = await signIn('users', `${name}@example.com`)
      }
      // Ann's twin: a record of another auth collection with the same id, another person.
      const now = START.toISOString()
      await t.engine.store.insertRecord(t.engine.registry.get('members'), {
        id: ids.ann,
        created: now,
        updated: now,
        email: 'twin@example.com',
        password: await testPasswords.hash(PASSWORD),
        verified: true,
        tokenKey: 'twin-token-key',
      })
      tokens.twin = await signIn('members', 'twin@example.com')
    })
    afterAll(async () => {
      await t?.close()
    })

    it('records consent given and withdrawn, with the time, caller, ip and user agent', async () => {
      const given = await consent({ purpose: 'newsletter', granted: true }, tokens.ann)
      expect(given.statusCode, given.body).toBe(201)
      expect(given.json()).toEqual({
        purpose: 'newsletter',
        granted: true,
        at: START.toISOString(),
      })
      clock.advance(60_000)
      const withdrawn = await consent({ purpose: 'newsletter', granted: false }, tokens.ann)
      expect(withdrawn.statusCode, withdrawn.body).toBe(201)
      clock.advance(60_000)
      expect((await consent({ purpose: 'analytics', granted: true }, tokens.ann)).statusCode).toBe(
        201,
      )

      const res = await read(tokens.ann)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      const t1 = new Date(START.getTime() + 60_000).toISOString()
      const t2 = new Date(START.getTime() + 120_000).toISOString()
      expect(res.json()).toEqual({
        subject: { collection: 'users', id: ids.ann },
        current: [
          { purpose: 'analytics', granted: true, at: t2 },
          { purpose: 'newsletter', granted: false, at: t1 },
        ],
        history: [
          ['newsletter', true, START.toISOString()],
          ['newsletter', false, t1],
          ['analytics', true, t2],
        ].map(([purpose, granted, at]) => ({
          purpose,
          granted,
          at,
          actor: `users/${ids.ann}`,
          ip: '203.0.113.7',
          userAgent: 'ConsentTest/1',
        })),
      })
      // Bob sees only his own (nothing yet).
      expect((await read(tokens.bob)).json()).toMatchObject({ current: [], history: [] })
    })

    it('keeps another auth collection with the same id apart', async () => {
      const twin = await read(tokens.twin)
      expect(twin.json()).toEqual({
        subject: { collection: 'members', id: ids.ann },
        current: [],
        history: [],
      })
      expect(
        (await consent({ purpose: 'analytics', granted: false }, tokens.twin)).statusCode,
      ).toBe(201)
      const ann = (await read(tokens.ann)).json()
      expect(ann.history).toHaveLength(3)
      expect(ann.current).toContainEqual(
        expect.objectContaining({ purpose: 'analytics', granted: true }),
      )
      expect((await read(tokens.twin)).json().current).toEqual([
        expect.objectContaining({ purpose: 'analytics', granted: false }),
      ])
    })

    it('lets a superuser read anyone, and nobody else read another person', async () => {
      const byRoot = await read(undefined, `?collection=users&id=${ids.ann}`)
      expect(byRoot.statusCode, byRoot.body).toBe(200)
      expect(byRoot.json().history).toHaveLength(3)
      const twin = await read(undefined, `?collection=members&id=${ids.ann}`)
      expect(twin.json().history).toHaveLength(1)
      expectProblem(await read(tokens.bob, `?collection=users&id=${ids.ann}`), 403, 'ER_FORBIDDEN')
      const notAuth = await read(undefined, `?collection=posts&id=${ids.ann}`)
      expect(expectProblem(notAuth, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty(
        'collection',
      )
      const anonymous = await t.call({
        method: 'GET',
        url: '/api/privacy/consents',
        anonymous: true,
      })
      expectProblem(anonymous, 401, 'ER_AUTH_REQUIRED')
    })

    it.each([
      ['an undeclared purpose', { purpose: 'profiling', granted: true }, 'purpose'],
      ['a purpose in another case', { purpose: 'Newsletter', granted: true }, 'purpose'],
      ['no purpose', { granted: true }, 'purpose'],
      ['an empty purpose', { purpose: '', granted: true }, 'purpose'],
      ['a long purpose', { purpose: 'n'.repeat(65), granted: true }, 'purpose'],
      ['a purpose that is not text', { purpose: 7, granted: true }, 'purpose'],
      ['no granted', { purpose: 'newsletter' }, 'granted'],
      ['granted as text', { purpose: 'newsletter', granted: 'yes' }, 'granted'],
      ['another person named', { purpose: 'newsletter', granted: true, id: 'x' }, 'id'],
    ])('refuses %s with a problem naming the field, storing nothing', async (_, payload, field) => {
      const before = (await read(tokens.bob)).json().history
      const res = await consent(payload, tokens.bob)
      const problem = expectProblem(res, 400, 'ER_VALIDATION_FAILED')
      expect(JSON.stringify(problem.errors ?? problem.detail)).toContain(field)
      expect((await read(tokens.bob)).json().history).toEqual(before)
    })

    it('refuses strangers and API keys', async () => {
      expectProblem(
        await consent({ purpose: 'newsletter', granted: true }, undefined),
        401,
        'ER_AUTH_REQUIRED',
      )
      const made = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/api-keys',
        payload: { name: 'sync', scopes: [{ collection: 'users', operations: ['list'] }] },
        headers: { authorization: `Bearer ${tokens.bob}` },
      })
      expect(made.statusCode, made.body).toBe(201)
      const key = String(made.json().key)
      expectProblem(
        await consent({ purpose: 'newsletter', granted: true }, key),
        403,
        'ER_FORBIDDEN',
      )
      expectProblem(await read(key), 403, 'ER_FORBIDDEN')
      expect((await read(tokens.bob)).json().history).toEqual([])
    })

    it(`stops a person's history at ${MAX_CONSENT_CHANGES} changes`, async () => {
      const users = t.engine.registry.get('users')
      await t.engine.store.transaction(async (tx) => {
        await tx.consents.insert({
          collectionId: users.id,
          recordId: ids.bob as string,
          seq: MAX_CONSENT_CHANGES,
          purpose: 'newsletter',
          granted: true,
          at: START.toISOString(),
          actor: `users/${ids.bob}`,
          ip: '127.0.0.1',
          userAgent: '',
        })
      })
      const res = await consent({ purpose: 'newsletter', granted: false }, tokens.bob)
      expect(expectProblem(res, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('purpose')
      expect((await read(tokens.bob)).json().current).toEqual([
        { purpose: 'newsletter', granted: true, at: START.toISOString() },
      ])
    })

    it('puts the history in the export and removes it on erasure, which the audit keeps', async () => {
      const exported = await t.call({
        method: 'GET',
        url: '/api/privacy/export',
        headers: { authorization: `Bearer ${tokens.ann}` },
      })
      expect(exported.statusCode).toBe(200)
      const document = await exportJson(exported.rawPayload)
      expect(document.consents).toEqual((await read(tokens.ann)).json().history)

      const erased = await t.call({
        method: 'POST',
        url: '/api/privacy/erase',
        payload: { password: PASSWORD },
        headers: { authorization: `Bearer ${tokens.ann}` },
      })
      expect(erased.statusCode, erased.body).toBe(200)
      expect(erased.json().consents).toBe(3)
      const users = t.engine.registry.get('users')
      expect(await t.engine.store.consents.history(users.id, ids.ann as string, 10)).toEqual([])
      // The twin's and Bob's stay.
      expect((await read(tokens.twin)).json().history).toHaveLength(1)
      expect((await read(tokens.bob)).json().history).toHaveLength(1)
      const audit = await t.call({ method: 'GET', url: '/api/audit?perPage=100' })
      expect(audit.statusCode, audit.body).toBe(200)
      const entry = JSON.stringify(audit.json()).includes('privacy.erase')
      expect(entry).toBe(true)
      expect(audit.body).toContain('"consents":3')
      expect(audit.body).not.toContain('203.0.113.7')
      expect(audit.body).not.toContain('ConsentTest/1')
    })
  })
}
