/**
 * `Idempotency-Key` on POST and PATCH (README, "Idempotent writes"): a client that retries after
 * a lost answer gets the first answer again and never writes twice; the same key with another
 * request is refused; keys belong to their caller; kept answers are sealed at rest.
 */
import type { InjectOptions } from 'fastify'
import { sql } from 'kysely'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('idempotent writes on %s', (dialect) => {
  let t: TestEngine
  let ann: string
  let bob: string
  const post = (token: string, key: string | undefined, payload: object, url: string) =>
    t.app.inject({
      method: 'POST',
      url,
      payload,
      headers: {
        authorization: `Bearer ${token}`,
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
    } satisfies InjectOptions)
  const noteCount = async (text: string) => {
    const res = await t.call({
      method: 'GET',
      url: `/api/collections/notes/records?filter=${encodeURIComponent(`text = "${text}"`)}`,
    })
    return (res.json() as { items: unknown[] }).items.length
  }
  const signIn = async (email: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/collections/users/auth/password',
      payload: { identity: email, password: 'long enough password' },
    })
    return (res.json() as { token: string }).token
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [],
      rules: { list: null, view: 'id = @request.auth.id', create: '', update: null, delete: null },
    })
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'text', type: 'text', max: 50 },
        { name: 'owner', type: 'relation', collection: 'users' },
        { name: 'changed', type: 'autodate', onCreate: true, onUpdate: true },
      ],
      rules: {
        list: 'owner = @request.auth.id',
        view: 'owner = @request.auth.id',
        create: '@request.body.owner = @request.auth.id',
        update: 'owner = @request.auth.id',
        delete: null,
      },
    })
    for (const id of ['uann', 'ubob']) {
      await createRecord(t, 'users', {
        id,
        email: `${id}@example.com`,
        password: 'long enough password',
      })
    }
    ann = await signIn('uann@example.com')
    bob = await signIn('ubob@example.com')
  })
  afterAll(() => t?.close())

  it('a repeated create answers the first answer again and writes once', async () => {
    const body = { text: 'once', owner: 'uann' }
    const first = await post(ann, 'key-create-1', body, '/api/collections/notes/records')
    expect(first.statusCode, first.body).toBe(201)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    for (let i = 0; i < 3; i++) {
      const again = await post(ann, 'key-create-1', body, '/api/collections/notes/records')
      expect(again.statusCode).toBe(201)
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.headers['content-type']).toBe(first.headers['content-type'])
      expect(again.json()).toEqual(first.json())
    }
    expect(await noteCount('once')).toBe(1)
    // Without the header nothing is remembered: the same body makes a second record.
    expect((await post(ann, undefined, body, '/api/collections/notes/records')).statusCode).toBe(
      201,
    )
    expect(await noteCount('once')).toBe(2)
  })

  it('the same key with another body, method or URL is a 422 that changes nothing', async () => {
    const url = '/api/collections/notes/records'
    expect((await post(ann, 'key-reuse', { text: 'a', owner: 'uann' }, url)).statusCode).toBe(201)
    const other = await post(ann, 'key-reuse', { text: 'b', owner: 'uann' }, url)
    expectProblem(other, 422, 'ER_IDEMPOTENCY_KEY_REUSED')
    expect(await noteCount('b')).toBe(0)
    const elsewhere = await post(ann, 'key-reuse', { text: 'a', owner: 'uann' }, `${url}?expand=`)
    expectProblem(elsewhere, 422, 'ER_IDEMPOTENCY_KEY_REUSED')
  })

  it('keys belong to their caller: another user with the same key is a new request', async () => {
    const url = '/api/collections/notes/records'
    const byAnn = await post(ann, 'shared-key', { text: 'ann shared', owner: 'uann' }, url)
    const byBob = await post(bob, 'shared-key', { text: 'bob shared', owner: 'ubob' }, url)
    expect(byAnn.statusCode).toBe(201)
    expect(byBob.statusCode, byBob.body).toBe(201)
    expect(byBob.headers['idempotent-replayed']).toBeUndefined()
    expect(byBob.body).not.toContain('ann shared')
    // Bob repeating Ann's exact request with her key gets nothing of hers.
    const bobAsAnn = await post(bob, 'shared-key', { text: 'ann shared', owner: 'uann' }, url)
    expectProblem(bobAsAnn, 422, 'ER_IDEMPOTENCY_KEY_REUSED')
    expect(bobAsAnn.body).not.toContain(String((byAnn.json() as { id: string }).id))
  })

  it('concurrent repeats write once: the others wait (409) or get the kept answer', async () => {
    const body = { text: 'racing', owner: 'uann' }
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        post(ann, 'key-race', body, '/api/collections/notes/records'),
      ),
    )
    const statuses = answers.map((r) => r.statusCode).sort()
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1)
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true)
    for (const res of answers.filter((r) => r.statusCode === 409)) {
      expectProblem(res, 409, 'ER_IDEMPOTENCY_IN_PROGRESS')
      expect(res.headers['retry-after']).toBe('1')
    }
    expect(await noteCount('racing')).toBe(1)
    const ids = new Set(
      answers.filter((r) => r.statusCode === 201).map((r) => (r.json() as { id: string }).id),
    )
    expect(ids.size).toBe(1)
  })

  it('a PATCH repeated is applied once and answers the first result', async () => {
    const note = await post(
      ann,
      undefined,
      { text: 'to edit', owner: 'uann' },
      '/api/collections/notes/records',
    )
    const id = (note.json() as { id: string }).id
    const patch = () =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/collections/notes/records/${id}`,
        payload: { text: 'edited' },
        headers: { authorization: `Bearer ${ann}`, 'idempotency-key': 'key-patch' },
      })
    const first = await patch()
    expect(first.statusCode, first.body).toBe(200)
    await new Promise((r) => setTimeout(r, 5))
    const again = await patch()
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
    const stored = await t.call({ method: 'GET', url: `/api/collections/notes/records/${id}` })
    expect((stored.json() as { changed: string }).changed).toBe(
      (first.json() as { changed: string }).changed,
    )
  })

  it('keeps a refusal, but not an answer that invites a retry', async () => {
    const url = '/api/collections/notes/records'
    const tooLong = { text: 'x'.repeat(60), owner: 'uann' }
    const refused = await post(ann, 'key-400', tooLong, url)
    expectProblem(refused, 400, 'ER_VALIDATION_FAILED')
    const refusedAgain = await post(ann, 'key-400', tooLong, url)
    expect(refusedAgain.statusCode).toBe(400)
    expect(refusedAgain.headers['idempotent-replayed']).toBe('true')

    // A conflict (409) is not kept: once the conflicting record is gone, the retry runs.
    const taken = await post(ann, undefined, { id: 'ntaken0000', text: 't', owner: 'uann' }, url)
    expect(taken.statusCode).toBe(201)
    const body = { id: 'ntaken0000', text: 'retry me', owner: 'uann' }
    expectProblem(await post(ann, 'key-409', body, url), 409, 'ER_RECORD_CONFLICT')
    const res = await t.call({ method: 'DELETE', url: `${url}/ntaken0000` })
    expect(res.statusCode).toBe(204)
    const retried = await post(ann, 'key-409', body, url)
    expect(retried.statusCode, retried.body).toBe(201)
    expect(retried.headers['idempotent-replayed']).toBeUndefined()
  })

  it('refuses malformed keys with a 400 and does nothing', async () => {
    const url = '/api/collections/notes/records'
    for (const key of ['', 'k'.repeat(256), 'has space', 'naïve']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        payload: { text: 'bad key', owner: 'uann' },
        headers: { authorization: `Bearer ${ann}`, 'idempotency-key': key },
      })
      expectProblem(res, 400, 'ER_IDEMPOTENCY_KEY_INVALID')
    }
    expect(await noteCount('bad key')).toBe(0)
  })

  it('seals kept answers: the database holds neither the key nor a token it answered', async () => {
    const key = 'sign-in-key-7f3a9c'
    const signInOnce = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: 'uann@example.com', password: 'long enough password' },
        headers: { 'idempotency-key': key },
      })
    const first = await signInOnce()
    expect(first.statusCode).toBe(200)
    const token = (first.json() as { token: string }).token
    const again = await signInOnce()
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect((again.json() as { token: string }).token).toBe(token)

    // Read the table as an attacker with a copy of the database would (the store's own handle).
    const db = (t.engine.store as unknown as { db: DynamicDb }).db
    const rows = (await sql`select * from ${sql.table('_idempotency')}`.execute(db)).rows
    expect(rows.length).toBeGreaterThan(0)
    const dump = JSON.stringify(rows)
    expect(dump).not.toContain(key)
    expect(dump).not.toContain(token)
    expect(dump).not.toContain(token.split('.')[1])
  })

  it('an expired key is a new request; an abandoned claim is given up', async () => {
    const ledger = t.engine.store.idempotency
    const at = new Date()
    const iso = (ms: number) => new Date(at.getTime() + ms).toISOString()
    const claim = {
      keyHash: 'h-expired',
      fingerprint: 'f',
      created: iso(-10_000),
      expires: iso(-1),
    }
    expect(await ledger.claim(claim, iso(-300_000))).toBeNull()
    // Expired: claimed again by a new request.
    const fresh = { ...claim, created: iso(0), expires: iso(60_000) }
    expect(await ledger.claim(fresh, iso(-300_000))).toBeNull()
    // Held and fresh: the holder is returned, pending.
    const held = await ledger.claim({ ...fresh, created: iso(1) }, iso(-300_000))
    expect(held?.state).toBe('pending')
    // Pending since before the stale limit: its process died; the claim is taken over.
    expect(await ledger.claim({ ...fresh, created: iso(2) }, iso(1))).toBeNull()
    expect(await ledger.sweep(iso(120_000))).toBeGreaterThanOrEqual(1)
  })

  it('the OpenAPI document offers the header on POST and PATCH, not on tus uploads', async () => {
    const res = await t.call({ method: 'GET', url: '/api/openapi.json' })
    const doc = res.json() as {
      paths: Record<string, Record<string, { parameters?: { $ref?: string }[] }>>
      components: { parameters: Record<string, { name: string; in: string }> }
    }
    expect(doc.components.parameters.idempotencyKey).toMatchObject({
      name: 'Idempotency-Key',
      in: 'header',
    })
    const refs = (path: string, method: string) =>
      (doc.paths[path]?.[method]?.parameters ?? []).map((p) => p.$ref)
    const key = '#/components/parameters/idempotencyKey'
    expect(refs('/api/collections/notes/records', 'post')).toContain(key)
    expect(refs('/api/collections/notes/records/{id}', 'patch')).toContain(key)
    expect(refs('/api/collections/notes/records', 'get')).not.toContain(key)
    for (const [path, item] of Object.entries(doc.paths)) {
      if (path.startsWith('/api/files/uploads')) {
        expect(JSON.stringify(item)).not.toContain(key)
      }
    }
  })
})
