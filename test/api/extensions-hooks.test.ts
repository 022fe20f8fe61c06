import { Type } from '@sinclair/typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineExtension } from '../../src/index.js'
import { cursorKey } from '../../src/services/extensions/after-hooks-runner.js'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

/** What the extension's after hooks observed, in the order they ran. */
interface Seen {
  updates: string[]
  creates: string[]
  flakyAttempts: number
  signUps: string[]
  signIns: string[]
  /** Who bob's `peek` note's after hook acted as, and how many notes it could list. */
  peek?: { caller: string | undefined; visible: number | undefined }
}

function extension(seen: Seen) {
  return defineExtension((er) => {
    er.records('notes')
      .before('create', async (e) => {
        const title = String(e.record.title)
        if (title === 'forbidden') {
          throw er.problem(422, 'That title is not allowed.', {
            title: [{ code: 'forbidden', message: 'is not allowed' }],
          })
        }
        if (title === 'explode') {
          // Written in the write's transaction, then the hook fails: both roll back.
          await e.sudo.create('audit', { line: 'written before the throw' })
          throw new Error('a bug in the hook')
        }
        if (title === 'peek') {
          // As the caller (rules apply) and as superuser, inside the same transaction.
          const mine = await e.records.list('notes', { count: 'true' })
          const all = await e.sudo.list('notes', { count: 'true' })
          e.record.title = `peek ${mine.totalItems}/${all.totalItems}`
          return
        }
        e.record.title = title.trim().toUpperCase()
      })
      .before('update', (e) => {
        e.record.edits = Number(e.previous.edits ?? 0) + 1
      })
      .before('delete', (e) => {
        if (e.record.title === 'KEEP') throw er.problem(409, 'This note is kept.')
      })
      .after('create', async (e) => {
        if (e.record.title === 'FLAKY' && ++seen.flakyAttempts < 3) throw new Error('flaky')
        if (String(e.record.title).startsWith('peek')) {
          const visible = (await e.records.list('notes', { count: 'true' })).totalItems
          seen.peek = { caller: e.caller?.id, visible }
        }
        seen.creates.push(String(e.record.title))
        await e.sudo.create('audit', { line: `created ${e.id} ${String(e.record.title)}` })
      })
      .after('update', (e) => {
        seen.updates.push(`${e.id}:${String(e.record.edits)}`)
      })
    er.auth('users')
      .after('signUp', (e) => void seen.signUps.push(String(e.record.email)))
      .after('signIn', (e) => void seen.signIns.push(String(e.record.email)))
    er.route('GET', '/api/ext/my-notes', async (req) => {
      const page = await req.records.list('notes', { count: 'true' })
      return { caller: req.caller?.id ?? null, notes: page.totalItems }
    })
    er.route(
      'POST',
      '/api/ext/echo/:n',
      (req) => er.reply(201, { n: req.params.n, x: (req.body as { x: number }).x }),
      {
        params: Type.Object({ n: Type.String({ pattern: '^[0-9]+$' }) }),
        body: Type.Object({ x: Type.Integer() }, { additionalProperties: false }),
        response: Type.Object({ n: Type.String(), x: Type.Integer() }),
      },
    )
  })
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((done) => setTimeout(done, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.each(dialects)('extension hooks and routes on %s', (dialect) => {
  let t: TestEngine
  const seen: Seen = { updates: [], creates: [], flakyAttempts: 0, signUps: [], signIns: [] }
  const tokens: Record<string, string> = {}
  const ids: Record<string, string> = {}
  const as = (user: string) => ({ authorization: `Bearer ${tokens[user]}` })
  const post = (user: string, title: string) =>
    t.call({
      method: 'POST',
      url: '/api/collections/notes/records',
      headers: as(user),
      payload: { title, owner: ids[user] },
    })
  const count = async (name: string) =>
    (
      (
        await t.call({ method: 'GET', url: `/api/collections/${name}/records?count=true` })
      ).json() as { totalItems: number }
    ).totalItems
  const outboxLast = async () => (await t.engine.store.outboxBounds()).last
  /** Waits until the after hooks have handled every committed event (their own writes too). */
  const settled = () =>
    until(
      async () =>
        Number(await t.engine.store.getSetting(cursorKey('test'))) >= (await outboxLast()),
      'the after hooks to catch up',
    )

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      engine: {
        extension: { name: 'test', setup: extension(seen) },
        extensionHooks: { pollMs: 50, backoffMs: 20, maxBackoffMs: 100 },
      },
    })
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [],
      rules: { list: null, view: 'id = @request.auth.id', create: '', update: null, delete: null },
    })
    await createCollection(t, { name: 'audit', fields: [{ name: 'line', type: 'text' }] })
    const own = 'owner = @request.auth.id'
    await createCollection(t, {
      name: 'notes',
      fields: [
        { name: 'title', type: 'text', required: true, max: 50 },
        { name: 'edits', type: 'number' },
        { name: 'owner', type: 'relation', collection: 'users', maxSelect: 1 },
      ],
      rules: { list: own, view: own, create: own, update: own, delete: own },
    })
    for (const user of ['alice', 'bob']) {
      const email = `${user}@example.com`
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/users/records',
        anonymous: true,
        payload: { email, password: 'long enough password' },
      })
      expect(res.statusCode, res.body).toBe(201)
      ids[user] = (res.json() as { id: string }).id
      const login = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        anonymous: true,
        payload: { identity: email, password: 'long enough password' },
      })
      expect(login.statusCode, login.body).toBe(200)
      tokens[user] = (login.json() as { token: string }).token
    }
  })
  afterAll(async () => {
    await t?.close()
  })

  it('stores what a before hook made of the input', async () => {
    const res = await post('alice', '  hello  ')
    expect(res.statusCode, res.body).toBe(201)
    const created = res.json() as { id: string; title: string }
    expect(created.title).toBe('HELLO')
    const read = await t.call({
      method: 'GET',
      url: `/api/collections/notes/records/${created.id}`,
    })
    expect((read.json() as { title: string }).title).toBe('HELLO')
  })

  it('answers a refusal as its problem, with nothing written and no event', async () => {
    await settled()
    const [notes, last] = [await count('notes'), await outboxLast()]
    const body = expectProblem(await post('alice', 'forbidden'), 422, 'ER_EXTENSION_PROBLEM')
    expect(body.title).toBe('Unprocessable Entity')
    expect(body.detail).toBe('That title is not allowed.')
    expect(body.errors?.title?.[0]?.code).toBe('forbidden')
    expect(await count('notes')).toBe(notes)
    expect(await outboxLast()).toBe(last)
  })

  it('answers a hook that throws with a 500 naming the request id, and rolls back its writes', async () => {
    await settled()
    const [notes, audit, last] = [await count('notes'), await count('audit'), await outboxLast()]
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/notes/records',
      headers: { ...as('alice'), 'x-request-id': 'req-explode-1' },
      payload: { title: 'explode', owner: ids.alice },
    })
    const body = expectProblem(res, 500, 'ER_INTERNAL')
    expect(body.requestId).toBe('req-explode-1')
    expect(JSON.stringify(body)).not.toContain('a bug in the hook')
    expect(await count('notes')).toBe(notes)
    expect(await count('audit')).toBe(audit)
    expect(await outboxLast()).toBe(last)
  })

  it("gives e.records the caller's view only: bob's hook cannot see alice's notes", async () => {
    const res = await post('bob', 'peek')
    expect(res.statusCode, res.body).toBe(201)
    const all = await count('notes')
    // Bob's list through e.records sees none of alice's notes; e.sudo sees every one.
    expect((res.json() as { title: string }).title).toBe(`peek 0/${all - 1}`)
    // The after hook, run later from the outbox, acts as bob too: his one note, no more.
    await until(() => seen.peek !== undefined, 'the after hook of the peek')
    expect(seen.peek).toEqual({ caller: ids.bob, visible: 1 })
  })

  it('runs update hooks with the previous record, and delete hooks that may refuse', async () => {
    const { id } = (await post('alice', 'keep')).json() as { id: string }
    for (let i = 0; i < 3; i++) {
      const res = await t.call({
        method: 'PATCH',
        url: `/api/collections/notes/records/${id}`,
        headers: as('alice'),
        payload: {},
      })
      expect(res.statusCode, res.body).toBe(200)
      expect((res.json() as { edits: number }).edits).toBe(i + 1)
    }
    const refused = await t.call({
      method: 'DELETE',
      url: `/api/collections/notes/records/${id}`,
      headers: as('alice'),
    })
    expectProblem(refused, 409, 'ER_EXTENSION_PROBLEM')
    // After hooks saw the three updates of this record in order.
    await until(() => seen.updates.filter((u) => u.startsWith(id)).length === 3, 'three updates')
    expect(seen.updates.filter((u) => u.startsWith(id))).toEqual([`${id}:1`, `${id}:2`, `${id}:3`])
  })

  it('runs before hooks on batch writes: a refusal at index 1 applies nothing', async () => {
    const notes = await count('notes')
    const url = '/api/collections/notes/records'
    const refused = await t.call({
      method: 'POST',
      url: '/api/batch',
      headers: as('alice'),
      payload: {
        requests: [
          { method: 'POST', url, body: { title: 'first', owner: ids.alice } },
          { method: 'POST', url, body: { title: 'forbidden', owner: ids.alice } },
        ],
      },
    })
    expect(expectProblem(refused, 422, 'ER_EXTENSION_PROBLEM').index).toBe(1)
    expect(await count('notes')).toBe(notes)
    const ok = await t.call({
      method: 'POST',
      url: '/api/batch',
      headers: as('alice'),
      payload: {
        requests: [{ method: 'POST', url, body: { title: ' batch ', owner: ids.alice } }],
      },
    })
    expect(ok.statusCode, ok.body).toBe(200)
    expect((ok.json() as { body: { title: string } }[])[0]?.body.title).toBe('BATCH')
  })

  it('runs before hooks on GraphQL writes', async () => {
    const gql = (query: string) =>
      t.call({ method: 'POST', url: '/graphql', headers: as('alice'), payload: { query } })
    const ok = await gql(
      `mutation { createNotes(input: { title: " gql ", owner: "${ids.alice}" }) { title } }`,
    )
    expect(ok.json()).toEqual({ data: { createNotes: { title: 'GQL' } } })
    const refused = (
      await gql(
        `mutation { createNotes(input: { title: "forbidden", owner: "${ids.alice}" }) { id } }`,
      )
    ).json() as { errors: { extensions: { code: string; status: number } }[] }
    expect(refused.errors[0]?.extensions).toMatchObject({
      code: 'ER_EXTENSION_PROBLEM',
      status: 422,
    })
  })

  it('runs after hooks on committed data, retrying a failing one until it succeeds', async () => {
    const res = await post('alice', 'flaky')
    expect(res.statusCode).toBe(201)
    const { id } = res.json() as { id: string }
    await until(() => seen.creates.includes('FLAKY'), 'the flaky hook to succeed')
    await settled()
    expect(seen.flakyAttempts).toBe(3)
    expect(t.engine.extension?.afterHooks?.stats().failures).toBeGreaterThanOrEqual(2)
    const metrics = (await t.call({ method: 'GET', url: '/metrics' })).body
    expect(
      Number(/^er_extension_hook_failures_total (\d+)$/m.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(2)
    expect(metrics).toMatch(/^er_extension_hook_failing_attempts 0$/m)
    const audit = (
      await t.call({
        method: 'GET',
        url: `/api/collections/audit/records?filter=${encodeURIComponent(`line ~ "${id}"`)}`,
      })
    ).json() as { items: { line: string }[] }
    expect(audit.items.map((i) => i.line)).toEqual([`created ${id} FLAKY`])
    // The cursor is persisted past the event.
    const cursor = Number(await t.engine.store.getSetting(cursorKey('test')))
    expect(cursor).toBeGreaterThanOrEqual((await t.engine.store.outboxBounds()).last - 10)
  })

  it('runs signUp from the outbox and signIn after a password sign-in', async () => {
    await until(() => seen.signUps.length === 2, 'two sign-ups')
    expect(seen.signUps.sort()).toEqual(['alice@example.com', 'bob@example.com'])
    await until(() => seen.signIns.length >= 2, 'two sign-ins')
    expect(seen.signIns).toContain('bob@example.com')
  })

  it('serves routes as the caller, with rules applied', async () => {
    const alice = await t.call({ method: 'GET', url: '/api/ext/my-notes', headers: as('alice') })
    const bob = await t.call({ method: 'GET', url: '/api/ext/my-notes', headers: as('bob') })
    const nobody = await t.call({ method: 'GET', url: '/api/ext/my-notes', anonymous: true })
    expect(bob.json()).toEqual({ caller: ids.bob, notes: 1 })
    expect((alice.json() as { notes: number }).notes).toBe((await count('notes')) - 1)
    expect(nobody.json()).toEqual({ caller: null, notes: 0 })
    const bad = await t.call({
      method: 'GET',
      url: '/api/ext/my-notes',
      headers: { authorization: 'Bearer nope' },
    })
    expectProblem(bad, 401, 'ER_AUTH_TOKEN_INVALID')
  })

  it('validates routes against their TypeBox schemas and describes them in the OpenAPI document', async () => {
    const ok = await t.call({ method: 'POST', url: '/api/ext/echo/7', payload: { x: 3 } })
    expect(ok.statusCode, ok.body).toBe(201)
    expect(ok.json()).toEqual({ n: '7', x: 3 })
    const bad = await t.call({ method: 'POST', url: '/api/ext/echo/7', payload: { x: 'three' } })
    expect(expectProblem(bad, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('x')
    const doc = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>
    }
    const echo = doc.paths['/api/ext/echo/{n}']?.post
    expect(echo?.requestBody).toMatchObject({
      content: { 'application/json': { schema: { properties: { x: { type: 'integer' } } } } },
    })
    expect(echo?.parameters).toEqual([
      { name: 'n', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
      // Extension routes honour Idempotency-Key like every POST.
      { $ref: '#/components/parameters/idempotencyKey' },
    ])
    expect(doc.paths['/api/ext/my-notes']?.get).toBeDefined()
  })

  it("answers a repeated POST to an extension's route from the kept answer", async () => {
    const request = {
      method: 'POST' as const,
      url: '/api/ext/echo/8',
      payload: { x: 4 },
      headers: { 'idempotency-key': `ext-${Date.now()}` },
    }
    const first = await t.call(request)
    expect(first.statusCode, first.body).toBe(201)
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    const again = await t.call(request)
    expect(again.statusCode, again.body).toBe(201)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual({ n: '8', x: 4 })
  })
})
