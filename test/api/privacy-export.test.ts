/**
 * `GET /api/privacy/export` on both dialects against a seeded data set: a user's export holds
 * exactly their record, the records that refer to them and those records' files — never another
 * user's, never the record of another auth collection that has the same id, never a secret.
 */
import { gunzipSync } from 'node:zlib'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine, multipartBody } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

/** The entries of a .tar.gz: name → bytes. */
async function untar(gz: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>()
  const reader = extract()
  Readable.from([gunzipSync(gz)]).pipe(reader)
  for await (const entry of reader) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    entries.set(entry.header.name, Buffer.concat(chunks))
  }
  return entries
}

interface ExportDocument {
  subject: { collection: string; id: string }
  collections: Record<string, { personalFields: string[]; records: Record<string, unknown>[] }>
}

const open = { list: '', view: '', create: '', update: '', delete: '' }

for (const dialect of dialects) {
  describe(`privacy export (${dialect})`, { timeout: 120_000 }, () => {
    let t: TestEngine & { blobs: BlobStore }
    const ids: Record<string, string> = {}
    const tokens: Record<string, string> = {}
    const cv = Buffer.from('%PDF-1.4 ann curriculum vitae '.repeat(50))

    beforeAll(async () => {
      t = await createFilesTestEngine(dialect, 'local', undefined)
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
          { name: 'owner', type: 'relation', collection: 'users', maxSelect: 1 },
          { name: 'cv', type: 'file' },
        ],
        rules: open,
      })
      await createCollection(t, {
        name: 'badges',
        fields: [{ name: 'holder', type: 'relation', collection: 'members', maxSelect: 1 }],
        rules: open,
      })
      for (const name of ['ann', 'bob']) {
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/users/records',
          payload: {
            email: `${name}@example.com`,
            password: 'correct horse battery',
            phone: `+1-${name}`,
          },
          anonymous: true,
        })
        expect(res.statusCode, res.body).toBe(201)
        ids[name] = String(res.json().id)
        const login = await t.call({
          method: 'POST',
          url: '/api/collections/users/auth/password',
          payload: { identity: `${name}@example.com`, password: 'correct horse battery' },
          anonymous: true,
        })
        tokens[name] = String(login.json().token)
      }
      // A member with Ann's id: another auth collection, another person. The API refuses an id
      // another auth collection holds; data imported before that check could still have one.
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
      await t.call({
        method: 'POST',
        url: '/api/collections/badges/records',
        payload: { holder: ids.ann },
      })
      for (const [owner, title] of [
        ['ann', 'ann post 1'],
        ['ann', 'ann post 2'],
        ['bob', 'bob post'],
      ] as const) {
        const { payload, headers } = multipartBody([
          { name: 'title', value: title },
          { name: 'owner', value: ids[owner] as string },
          { name: 'cv', filename: `${owner}.pdf`, content: cv },
        ])
        const res = await t.call({
          method: 'POST',
          url: '/api/collections/posts/records',
          payload,
          headers,
        })
        expect(res.statusCode, res.body).toBe(201)
      }
    })
    afterAll(async () => {
      await t?.close()
    })

    it("holds exactly the caller's data and files, no secret, nothing of others", async () => {
      const res = await t.call({
        method: 'GET',
        url: '/api/privacy/export',
        headers: { authorization: `Bearer ${tokens.ann}` },
      })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.headers['content-type']).toBe('application/gzip')
      const entries = await untar(res.rawPayload)
      const doc = JSON.parse(String(entries.get('export.json'))) as ExportDocument
      expect(doc.subject).toEqual({ collection: 'users', id: ids.ann })
      expect(Object.keys(doc.collections).sort()).toEqual(['posts', 'users'])
      expect(doc.collections.users?.records).toHaveLength(1)
      expect(doc.collections.users?.records[0]).toMatchObject({
        email: 'ann@example.com',
        phone: '+1-ann',
      })
      expect(doc.collections.users?.personalFields).toEqual(['phone'])
      expect(doc.collections.posts?.records.map((r) => r.title).sort()).toEqual([
        'ann post 1',
        'ann post 2',
      ])
      const text = res.rawPayload.length > 0 ? String(entries.get('export.json')) : ''
      for (const absent of ['bob', 'twin@example.com', 'password', 'tokenKey', '$argon2']) {
        expect(text, absent).not.toContain(absent)
      }
      const files = [...entries.keys()].filter((n) => n.startsWith('files/'))
      expect(files).toHaveLength(2)
      for (const name of files) {
        expect(name).toMatch(/^files\/posts\/[a-z0-9]+\/ann_[a-z0-9]+\.pdf$/)
        expect(entries.get(name)?.equals(cv)).toBe(true)
      }
    })

    it('lets a superuser export anyone, and nobody else export another person', async () => {
      const bob = await t.call({
        method: 'GET',
        url: `/api/privacy/export?collection=users&id=${ids.bob}`,
      })
      expect(bob.statusCode).toBe(200)
      const doc = JSON.parse(
        String((await untar(bob.rawPayload)).get('export.json')),
      ) as ExportDocument
      expect(doc.collections.posts?.records.map((r) => r.title)).toEqual(['bob post'])
      const twin = await t.call({
        method: 'GET',
        url: `/api/privacy/export?collection=members&id=${ids.ann}`,
      })
      const twinDoc = JSON.parse(
        String((await untar(twin.rawPayload)).get('export.json')),
      ) as ExportDocument
      expect(Object.keys(twinDoc.collections).sort()).toEqual(['badges', 'members'])

      const cases = [
        {
          headers: { authorization: `Bearer ${tokens.ann}` },
          url: `?collection=users&id=${ids.bob}`,
          status: 403,
        },
        { headers: {}, url: '', status: 401, anonymous: true },
        { headers: {}, url: '?collection=posts&id=x', status: 400 },
        { headers: {}, url: '?collection=users&id=nobody', status: 404 },
        { headers: {}, url: '?collection=users&id=a%27b', status: 400 },
      ]
      for (const c of cases) {
        const res = await t.call({
          method: 'GET',
          url: `/api/privacy/export${c.url}`,
          headers: c.headers,
          ...(c.anonymous ? { anonymous: true } : {}),
        })
        expect(res.statusCode, `${c.url}: ${res.body}`).toBe(c.status)
        expect(res.headers['content-type']).toContain('application/problem+json')
      }
    })
  })
}
