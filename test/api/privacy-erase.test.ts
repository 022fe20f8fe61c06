/**
 * `POST /api/privacy/erase` on both dialects: the person's record, credentials and cascaded
 * records go, records that only pointed at them lose their personal fields and the reference,
 * and nothing of anyone else changes — nor anything at all when the password is wrong or a
 * `restrict` relation still holds them.
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine, multipartBody } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'
import { fileBlobKey } from '../../src/services/files/file-names.js'

const dialects = await availableDialects()
const open = { list: '', view: '', create: '', update: '', delete: '' }
const PASSWORD = 'correct horse battery'

for (const dialect of dialects) {
  describe(`privacy erase (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine & { blobs: BlobStore }
    const ids: Record<string, string> = {}
    const tokens: Record<string, string> = {}
    const logLines: string[] = []

    const post = async (url: string, payload: unknown, token?: string) =>
      t.call({
        method: 'POST',
        url,
        payload: payload as Record<string, unknown>,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })
    const get = (url: string, token?: string) =>
      t.call({
        method: 'GET',
        url,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })
    const rows = async (name: string) =>
      (await get(`/api/collections/${name}/records?perPage=100&sort=id`)).json().items as Record<
        string,
        unknown
      >[]

    beforeAll(async () => {
      // Every log line the server writes, at the most verbose level.
      const logger = {
        level: 'trace',
        stream: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logLines.push(chunk.toString())
            done()
          },
        }),
      }
      t = await createFilesTestEngine(dialect, 'local', undefined, {}, { logger })
      await createCollection(t, {
        name: 'users',
        type: 'auth',
        fields: [{ name: 'phone', type: 'text', personal: true }],
        rules: open,
      })
      await createCollection(t, { name: 'members', type: 'auth', fields: [], rules: open })
      await createCollection(t, {
        name: 'posts',
        fields: [
          { name: 'title', type: 'text' },
          {
            name: 'owner',
            type: 'relation',
            collection: 'users',
            maxSelect: 1,
            onDelete: 'cascade',
          },
          { name: 'cv', type: 'file' },
        ],
        rules: open,
      })
      await createCollection(t, {
        name: 'orders',
        fields: [
          { name: 'address', type: 'text', personal: true },
          { name: 'receipt', type: 'file', personal: true },
          { name: 'total', type: 'number' },
          { name: 'customer', type: 'relation', collection: 'users', maxSelect: 1 },
        ],
        rules: open,
      })
      await createCollection(t, {
        name: 'groups',
        fields: [
          { name: 'note', type: 'text', personal: true },
          { name: 'people', type: 'relation', collection: 'users', maxSelect: 5 },
        ],
        rules: open,
      })
      await createCollection(t, {
        name: 'loans',
        fields: [
          {
            name: 'borrower',
            type: 'relation',
            collection: 'users',
            maxSelect: 1,
            onDelete: 'restrict',
          },
        ],
        rules: open,
      })
      await createCollection(t, {
        name: 'badges',
        fields: [{ name: 'holder', type: 'relation', collection: 'members', maxSelect: 1 }],
        rules: open,
      })
      for (const name of ['ann', 'bob', 'carl']) {
        const res = await post('/api/collections/users/records', {
          email: `${name}@example.com`,
          password: PASSWORD,
          phone: `+1-${name}`,
        })
        expect(res.statusCode, res.body).toBe(201)
        ids[name] = String(res.json().id)
        const login = await t.call({
          method: 'POST',
          url: '/api/collections/users/auth/password',
          payload: { identity: `${name}@example.com`, password: PASSWORD },
          anonymous: true,
        })
        tokens[name] = String(login.json().token)
      }
      // A member with Ann's id: another auth collection, another person (see the export test).
      const now = new Date().toISOString()
      await t.engine.store.insertRecord(t.engine.registry.get('members'), {
        id: ids.ann,
        created: now,
        updated: now,
        email: 'twin@example.com',
        password: 'not-a-hash',
        verified: false,
        tokenKey: 'twin-token-key',
      })
      await post('/api/collections/badges/records', { holder: ids.ann })
      for (const owner of ['ann', 'ann', 'bob']) {
        const { payload, headers } = multipartBody([
          { name: 'title', value: `${owner} post` },
          { name: 'owner', value: ids[owner] as string },
          { name: 'cv', filename: `${owner}.pdf`, content: Buffer.from(`%PDF ${owner}`) },
        ])
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/posts/records',
          payload,
          headers,
        })
        expect(res.statusCode, res.body).toBe(201)
      }
      for (const who of ['ann', 'bob', 'carl']) {
        const { payload, headers } = multipartBody([
          { name: 'address', value: `${who} street` },
          { name: 'total', value: '10' },
          { name: 'customer', value: ids[who] as string },
          { name: 'receipt', filename: `${who}.txt`, content: Buffer.from(`paid ${who}`) },
        ])
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/orders/records',
          payload,
          headers,
        })
        expect(res.statusCode, res.body).toBe(201)
      }
      await post('/api/collections/groups/records', {
        note: 'shared note',
        people: [ids.ann, ids.bob],
      })
      await post('/api/collections/groups/records', { note: 'ann alone', people: [ids.ann] })
      await post('/api/collections/loans/records', { borrower: ids.carl })
    })
    afterAll(async () => {
      await t?.close()
    })

    it('refuses a wrong or missing password, another user and a stranger, changing nothing', async () => {
      const before = await rows('orders')
      const wrong = await post('/api/privacy/erase', { password: 'wrong password' }, tokens.ann)
      expect(wrong.statusCode, wrong.body).toBe(400)
      expect(wrong.json().code).toBe('ER_AUTH_INVALID_CREDENTIALS')
      const missing = await post('/api/privacy/erase', {}, tokens.ann)
      expect(missing.statusCode, missing.body).toBe(400)
      expect(JSON.stringify(missing.json())).toContain('password')
      const other = await post(
        '/api/privacy/erase',
        { collection: 'users', id: ids.bob, password: PASSWORD },
        tokens.ann,
      )
      expect(other.statusCode).toBe(403)
      const anonymous = await t.call({
        method: 'POST',
        url: '/api/privacy/erase',
        payload: { password: PASSWORD },
        anonymous: true,
      })
      expect(anonymous.statusCode).toBe(401)
      expect(await rows('orders')).toEqual(before)
      expect((await get('/api/privacy/export', tokens.ann)).statusCode).toBe(200)
    })

    it('is blocked by a restrict relation, with nothing changed', async () => {
      const before = { orders: await rows('orders'), groups: await rows('groups') }
      const res = await post('/api/privacy/erase', { password: PASSWORD }, tokens.carl)
      expect(res.statusCode, res.body).toBe(409)
      expect(res.json().code).toBe('ER_RELATION_RESTRICTED')
      expect(res.body).toContain('loans.borrower')
      expect({ orders: await rows('orders'), groups: await rows('groups') }).toEqual(before)
      expect((await get('/api/privacy/export', tokens.carl)).statusCode).toBe(200)
    })

    it("erases the caller's data and nobody else's", async () => {
      const bobBefore = {
        posts: (await rows('posts')).filter((r) => r.owner === ids.bob),
        orders: (await rows('orders')).filter((r) => r.customer !== ids.ann),
        badges: await rows('badges'),
      }
      const made = await post(
        '/api/collections/users/auth/api-keys',
        { name: 'sync', scopes: [{ collection: 'posts', operations: ['list'] }] },
        tokens.ann,
      )
      expect(made.statusCode, made.body).toBe(201)
      const key = String(made.json().key)
      const byKey = await post('/api/privacy/erase', { password: PASSWORD }, key)
      expect(byKey.statusCode, byKey.body).toBe(403)
      const postsId = t.engine.registry.get('posts').id
      const annBlobs = (await rows('posts'))
        .filter((r) => r.owner === ids.ann)
        .map((r) => fileBlobKey(postsId, String(r.id), String(r.cv)))
      const ordersId = t.engine.registry.get('orders').id
      for (const r of await rows('orders')) {
        if (r.customer === ids.ann) {
          annBlobs.push(fileBlobKey(ordersId, String(r.id), String(r.receipt)))
        }
      }
      expect(annBlobs).toHaveLength(3)
      for (const blob of annBlobs) {
        const body = await t.blobs.get(blob)
        expect(body).toBeTruthy()
        body?.destroy()
      }

      const res = await post('/api/privacy/erase', { password: PASSWORD }, tokens.ann)
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({
        subject: { collection: 'users', id: ids.ann },
        deleted: { users: 1, posts: 2 },
        cleared: { orders: 1, groups: 1 },
      })
      expect(res.json().credentials).toBeGreaterThan(0)
      // Gone: the record, its sessions (the token no longer works), its export.
      expect((await get(`/api/privacy/export?collection=users&id=${ids.ann}`)).statusCode).toBe(404)
      expect((await get('/api/privacy/export', tokens.ann)).statusCode).toBe(401)
      expect((await get('/api/collections/posts/records', key)).statusCode).toBe(401)
      await t.engine.files?.drainDeletions()
      for (const blob of annBlobs) expect(await t.blobs.get(blob)).toBeFalsy()
      const posts = await rows('posts')
      expect(posts.map((r) => r.title)).toEqual(['bob post'])
      const orders = await rows('orders')
      const annOrder = orders.find((r) => r.customer !== ids.bob && r.customer !== ids.carl)
      expect(annOrder).toMatchObject({ total: 10 })
      expect(annOrder?.address ?? '').toBe('')
      expect(annOrder?.customer ?? '').toBe('')
      expect(annOrder?.receipt ?? '').toBe('')
      const groups = await rows('groups')
      expect(groups.find((g) => g.note === 'shared note')?.people).toEqual([ids.bob])
      expect(groups.filter((g) => g.note === 'ann alone')).toHaveLength(0)
      expect(groups).toHaveLength(2)
      // Others untouched, the other auth collection's same-id record included.
      expect(posts.filter((r) => r.owner === ids.bob)).toEqual(bobBefore.posts)
      expect(orders.filter((r) => r !== annOrder)).toEqual(bobBefore.orders)
      expect(await rows('badges')).toEqual(bobBefore.badges)
      const twin = await get(`/api/privacy/export?collection=members&id=${ids.ann}`)
      expect(twin.statusCode).toBe(200)
      expect((await get('/api/privacy/export', tokens.bob)).statusCode).toBe(200)
      // No log line and no audit entry holds Ann's personal fields; the audit keeps the erase.
      expect(logLines.length).toBeGreaterThan(20)
      const annValues = ['+1-ann', 'ann street', 'ann@example.com']
      for (const line of logLines) {
        for (const value of annValues) expect(line).not.toContain(value)
      }
      const audit = await t.engine.store.audit.page(0, 1000)
      expect(audit.map((r) => `${r.action} ${r.target}`)).toContain(
        `privacy.erase users/${ids.ann}`,
      )
      for (const row of audit) {
        for (const value of annValues) expect(`${row.target} ${row.detail}`).not.toContain(value)
      }
    })

    it('lets a superuser erase anyone by collection and id', async () => {
      const res = await post('/api/privacy/erase', { collection: 'users', id: ids.bob })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json().deleted).toMatchObject({ users: 1, posts: 1 })
      expect((await get(`/api/privacy/export?collection=users&id=${ids.bob}`)).statusCode).toBe(404)
      const again = await post('/api/privacy/erase', { collection: 'users', id: ids.bob })
      expect(again.statusCode).toBe(404)
      const bad = await post('/api/privacy/erase', { collection: 'posts', id: 'x' })
      expect(bad.statusCode).toBe(400)
    })
  })
}
