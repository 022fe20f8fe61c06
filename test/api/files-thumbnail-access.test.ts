import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLocalBlobs } from '../../src/adapters/blobs/local/local-blobs.js'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { imageFile, multipartBody } from '../helpers/files-engine.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

/** Local blobs that count the reads a download could make (stat, get). */
async function countingBlobs(root: string) {
  const blobs = await openLocalBlobs({ root })
  const reads = { count: 0 }
  const counted: BlobStore = {
    ...blobs,
    kind: blobs.kind,
    async stat(key) {
      reads.count++
      return blobs.stat(key)
    },
    async get(key, range) {
      reads.count++
      return blobs.get(key, range)
    },
  }
  return { blobs: counted, reads }
}

for (const dialect of dialects) {
  describe(`a thumbnail served again (${dialect})`, () => {
    let t: TestEngine
    let reads: { count: number }
    const members: Record<'owner' | 'other', { id: string; token: string }> = {
      owner: { id: '', token: '' },
      other: { id: '', token: '' },
    }

    beforeAll(async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'er-thumb-access-'))
      const counting = await countingBlobs(join(scratch, 'storage'))
      reads = counting.reads
      t = await createTestEngine(dialect, {
        engine: {
          files: {
            blobs: counting.blobs,
            uploadsDir: join(scratch, 'uploads'),
            limits: {},
            housekeepingMs: 0,
          },
        },
      })
      await createCollection(t, { name: 'members', type: 'auth', rules: { create: '' } })
      await createCollection(t, {
        name: 'albums',
        fields: [
          { name: 'owner', type: 'text' },
          { name: 'cover', type: 'file', mimeTypes: ['image/png'], thumbs: ['20x20'] },
          {
            name: 'photo',
            type: 'file',
            mimeTypes: ['image/png'],
            thumbs: ['20x20'],
            protected: true,
          },
        ],
        rules: { list: '', view: 'owner = @request.auth.id', create: '', update: '', delete: '' },
      })
      for (const name of ['owner', 'other'] as const) {
        const email = `${name}@example.com`
        const made = await t.call({
          method: 'POST',
          url: '/api/collections/members/records',
          payload: { email, password: 'long enough pw' },
          anonymous: true,
        })
        const login = await t.call({
          method: 'POST',
          url: '/api/collections/members/auth/password',
          payload: { identity: email, password: 'long enough pw' },
          anonymous: true,
        })
        members[name] = {
          id: (made.json() as { id: string }).id,
          token: (login.json() as { token: string }).token,
        }
      }
    })
    afterAll(async () => {
      await t?.close()
    })

    const fileToken = async (bearer: string) =>
      (
        (
          await t.call({
            method: 'POST',
            url: '/api/files/token',
            headers: { authorization: `Bearer ${bearer}` },
          })
        ).json() as { token: string }
      ).token
    const thumb = (id: string, name: string, query = '', headers: Record<string, string> = {}) =>
      t.call({
        method: 'GET',
        url: `/api/files/albums/${id}/${name}?thumb=20x20${query}`,
        headers,
        anonymous: true,
      })
    const createAlbum = async () => {
      const { payload, headers } = multipartBody([
        { name: 'owner', value: members.owner.id },
        { name: 'cover', filename: 'c.png', content: await imageFile(90, 60) },
        { name: 'photo', filename: 'p.png', content: await imageFile(60, 90) },
      ])
      const res = await t.call({
        method: 'POST',
        url: '/api/collections/albums/records',
        payload,
        headers,
      })
      expect(res.statusCode, res.body).toBe(201)
      return res.json() as { id: string; cover: string; photo: string }
    }

    it('is served from memory, the same bytes, with its ETag answering 304', async () => {
      const album = await createAlbum()
      const first = await thumb(album.id, album.cover)
      expect(first.statusCode, first.body).toBe(200)
      const before = reads.count
      const again = await thumb(album.id, album.cover)
      expect(again.statusCode).toBe(200)
      expect(again.rawPayload.equals(first.rawPayload)).toBe(true)
      expect(again.headers['content-length']).toBe(String(first.rawPayload.length))
      expect(again.headers.etag).toBe(first.headers.etag)
      // Neither a stat nor a read of the blob store: the bytes were kept from the first answer.
      expect(reads.count).toBe(before)
      const ranged = await thumb(album.id, album.cover, '', { range: 'bytes=0-9' })
      expect(ranged.statusCode).toBe(206)
      expect(ranged.rawPayload.equals(first.rawPayload.subarray(0, 10))).toBe(true)
      const unchanged = await thumb(album.id, album.cover, '', {
        'if-none-match': first.headers.etag as string,
      })
      expect(unchanged.statusCode).toBe(304)
      expect(unchanged.rawPayload.length).toBe(0)
    })

    it('is checked against the view rule on every request, as the rule and record change', async () => {
      const album = await createAlbum()
      const asOwner = async () => `&token=${await fileToken(members.owner.token)}`
      const asOther = async () => `&token=${await fileToken(members.other.token)}`
      const first = await thumb(album.id, album.photo, await asOwner())
      expect(first.statusCode, first.body).toBe(200)
      expect(first.headers['cache-control']).toMatch(/^private/)
      const cached = await thumb(album.id, album.photo, await asOwner())
      expect(cached.rawPayload.equals(first.rawPayload)).toBe(true)
      // Held in memory, yet refused to whoever the rule does not admit.
      expectProblem(await thumb(album.id, album.photo), 401, 'ER_FILE_TOKEN_REQUIRED')
      expectProblem(await thumb(album.id, album.photo, await asOther()), 404, 'ER_FILE_NOT_FOUND')

      // The record changes hands: the rule now admits the other member only.
      const moved = await t.call({
        method: 'PATCH',
        url: `/api/collections/albums/records/${album.id}`,
        payload: { owner: members.other.id },
      })
      expect(moved.statusCode, moved.body).toBe(200)
      expectProblem(await thumb(album.id, album.photo, await asOwner()), 404, 'ER_FILE_NOT_FOUND')
      expect((await thumb(album.id, album.photo, await asOther())).statusCode).toBe(200)

      // The collection's view rule changes: superusers only.
      const locked = await t.call({
        method: 'PATCH',
        url: '/api/collections/albums',
        payload: { rules: { list: '', view: null, create: '', update: '', delete: '' } },
      })
      expect(locked.statusCode, locked.body).toBe(200)
      expectProblem(await thumb(album.id, album.photo, await asOther()), 404, 'ER_FILE_NOT_FOUND')
      const superuser = await thumb(album.id, album.photo, `&token=${await fileToken(t.token)}`)
      expect(superuser.rawPayload.equals(first.rawPayload)).toBe(true)
      await t.call({
        method: 'PATCH',
        url: '/api/collections/albums',
        payload: {
          rules: {
            list: '',
            view: 'owner = @request.auth.id',
            create: '',
            update: '',
            delete: '',
          },
        },
      })
    })

    it('is gone as soon as its file leaves the record or the record is deleted', async () => {
      const album = await createAlbum()
      const ownerQuery = async () => `&token=${await fileToken(members.owner.token)}`
      expect((await thumb(album.id, album.cover)).statusCode).toBe(200)
      expect((await thumb(album.id, album.photo, await ownerQuery())).statusCode).toBe(200)
      // The public cover is removed from the record: its cached thumbnail is not served.
      const removed = await t.call({
        method: 'PATCH',
        url: `/api/collections/albums/records/${album.id}`,
        payload: { cover: '' },
      })
      expect(removed.statusCode, removed.body).toBe(200)
      expectProblem(await thumb(album.id, album.cover), 404, 'ER_FILE_NOT_FOUND')
      expect((await thumb(album.id, album.photo, await ownerQuery())).statusCode).toBe(200)
      const gone = await t.call({
        method: 'DELETE',
        url: `/api/collections/albums/records/${album.id}`,
      })
      expect(gone.statusCode).toBe(204)
      expectProblem(
        await thumb(album.id, album.photo, await ownerQuery()),
        404,
        'ER_FILE_NOT_FOUND',
      )
      const superuserQuery = `&token=${await fileToken(t.token)}`
      expectProblem(await thumb(album.id, album.photo, superuserQuery), 404, 'ER_FILE_NOT_FOUND')
    })
  })
}
