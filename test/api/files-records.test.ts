import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import {
  blobKeys,
  createFilesTestEngine,
  decompressionBomb,
  elfBinary,
  imageFile,
  multipartBody,
  type StorageName,
} from '../helpers/files-engine.js'
import { startS3Server, type S3Server } from '../helpers/s3-server.js'
import type { TestEngine } from '../helpers/test-engine.js'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import { Readable } from 'node:stream'
import { Validator } from '@seriousme/openapi-schema-validator'

const dialects = await availableDialects()
const storages: StorageName[] = ['local', 's3']
let s3: S3Server
beforeAll(async () => {
  s3 = await startS3Server()
})
afterAll(async () => {
  await s3?.close()
})

const profiles = {
  name: 'profiles',
  fields: [
    { name: 'title', type: 'text', required: true },
    {
      name: 'avatar',
      type: 'file',
      mimeTypes: ['image/png', 'image/jpeg'],
      thumbs: ['50x50', '100x0', '40x30f', '40x40t'],
    },
    { name: 'docs', type: 'file', maxSelect: 3, maxSize: 64 * 1024 },
    { name: 'cv', type: 'file', protected: true },
    { name: 'owner', type: 'text' },
  ],
  rules: { list: '', view: 'owner = @request.auth.id', create: '', update: '', delete: '' },
}

for (const dialect of dialects) {
  for (const storage of storages) {
    describe(`files on records (${dialect}, ${storage})`, () => {
      let t: TestEngine & { blobs: BlobStore }
      let png: Buffer
      beforeAll(async () => {
        t = await createFilesTestEngine(dialect, storage, s3)
        await createCollection(t, profiles)
        png = await imageFile(300, 200)
      })
      afterAll(async () => {
        await t?.close()
      })

      const post = (parts: Parameters<typeof multipartBody>[0], id?: string) => {
        const { payload, headers } = multipartBody(parts)
        return t.call({
          method: id ? 'PATCH' : 'POST',
          url: `/api/collections/profiles/records${id ? `/${id}` : ''}`,
          payload,
          headers,
        })
      }
      const download = (id: string, name: string, query = '', headers = {}) =>
        t.call({
          method: 'GET',
          url: `/api/files/profiles/${id}/${name}${query}`,
          headers,
          anonymous: true,
        })

      it('uploads with the record, downloads with type, ETag, caching and ranges', async () => {
        const res = await post([
          { name: 'title', value: 'Ann' },
          { name: 'avatar', filename: 'Me at the beach.PNG', content: png, type: 'text/html' },
        ])
        expect(res.statusCode, res.body).toBe(201)
        const record = res.json() as { id: string; avatar: string; docs: string[] }
        expect(record.avatar).toMatch(/^me_at_the_beach_[a-z0-9]{10}\.png$/)
        expect(record.docs).toEqual([])
        const got = await download(record.id, record.avatar)
        expect(got.statusCode).toBe(200)
        expect(got.headers['content-type']).toBe('image/png')
        expect(got.headers['content-disposition']).toMatch(/^inline; filename="me_at_the_beach_/)
        expect(got.headers['cache-control']).toBe('public, max-age=31536000, immutable')
        expect(got.headers['cross-origin-resource-policy']).toBe('cross-origin')
        expect(got.rawPayload.equals(png)).toBe(true)
        const etag = got.headers.etag as string
        expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
        const again = await download(record.id, record.avatar, '', { 'if-none-match': etag })
        expect(again.statusCode).toBe(304)
        const part = await download(record.id, record.avatar, '', { range: 'bytes=10-109' })
        expect(part.statusCode).toBe(206)
        expect(part.headers['content-range']).toBe(`bytes 10-109/${png.length}`)
        expect(part.rawPayload.equals(png.subarray(10, 110))).toBe(true)
        const tail = await download(record.id, record.avatar, '', { range: 'bytes=-5' })
        expect(tail.rawPayload.equals(png.subarray(png.length - 5))).toBe(true)
        const outside = await download(record.id, record.avatar, '', {
          range: `bytes=${png.length}-`,
        })
        expectProblem(outside, 416, 'ER_FILE_RANGE_INVALID')
        expect(outside.headers['content-range']).toBe(`bytes */${png.length}`)
        // The record read back names the same file.
        const read = await t.call({
          method: 'GET',
          url: `/api/collections/profiles/records/${record.id}`,
        })
        expect((read.json() as { avatar: string }).avatar).toBe(record.avatar)
      })

      it('replaces, appends and removes files, and deletes the blobs let go of', async () => {
        const first = await post([
          { name: 'title', value: 'Bo' },
          { name: 'avatar', filename: 'a.png', content: png },
          { name: 'docs', filename: 'one.txt', content: Buffer.from('one') },
          { name: 'docs', filename: 'two.txt', content: Buffer.from('two') },
        ])
        expect(first.statusCode, first.body).toBe(201)
        const created = first.json() as { id: string; avatar: string; docs: string[] }
        expect(created.docs).toHaveLength(2)
        const jpeg = await imageFile(120, 80, 'jpeg')
        const replaced = await post(
          [
            { name: 'avatar', filename: 'b.jpg', content: jpeg },
            { name: 'docs+', filename: 'three.md', content: Buffer.from('# three') },
            { name: 'docs-', value: created.docs[0] as string },
          ],
          created.id,
        )
        expect(replaced.statusCode, replaced.body).toBe(200)
        const after = replaced.json() as { avatar: string; docs: string[] }
        expect(after.avatar).toMatch(/^b_[a-z0-9]{10}\.jpg$/)
        expect(after.docs).toHaveLength(2)
        expect(after.docs[0]).toBe(created.docs[1])
        expect(after.docs[1]).toMatch(/^three_[a-z0-9]{10}\.md$/)
        // Gone from the API at once; the blobs follow once the deletions drain.
        expect((await download(created.id, created.avatar)).statusCode).toBe(404)
        expect((await download(created.id, created.docs[0] as string)).statusCode).toBe(404)
        const text = await download(created.id, after.docs[1] as string)
        expect(text.headers['content-type']).toBe('text/plain; charset=utf-8')
        await t.engine.files?.drainDeletions()
        const keys = await blobKeys(t.blobs)
        expect(keys.some((k) => k.endsWith(created.avatar))).toBe(false)
        expect(keys.some((k) => k.endsWith(created.docs[0] as string))).toBe(false)
        expect(keys.some((k) => k.endsWith(after.avatar))).toBe(true)
        // JSON: keep one, in a new order; an unknown name is refused.
        const kept = await t.call({
          method: 'PATCH',
          url: `/api/collections/profiles/records/${created.id}`,
          payload: { docs: [after.docs[1]] },
        })
        expect((kept.json() as { docs: string[] }).docs).toEqual([after.docs[1]])
        const unknown = await t.call({
          method: 'PATCH',
          url: `/api/collections/profiles/records/${created.id}`,
          payload: { 'docs-': 'nope_abcdefghij.txt' },
        })
        expect(expectProblem(unknown, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('docs')
        // Deleting the record deletes its files.
        const gone = await t.call({
          method: 'DELETE',
          url: `/api/collections/profiles/records/${created.id}`,
        })
        expect(gone.statusCode).toBe(204)
        await t.engine.files?.drainDeletions()
        expect((await blobKeys(t.blobs)).filter((k) => k.includes(`/${created.id}/`))).toEqual([])
      })

      it('makes declared thumbnails only, once, in the asked format', async () => {
        const res = await post([
          { name: 'title', value: 'Cy' },
          { name: 'avatar', filename: 'c.png', content: png },
        ])
        const { id, avatar } = res.json() as { id: string; avatar: string }
        const sizes: [string, number, number][] = [
          ['50x50', 50, 50],
          ['100x0', 100, 67],
          ['40x30f', 40, 27],
          ['40x40t', 40, 40],
        ]
        for (const [thumb, width, height] of sizes) {
          const got = await download(id, avatar, `?thumb=${thumb}`)
          expect(got.statusCode, got.body).toBe(200)
          const meta = await sharp(got.rawPayload).metadata()
          expect([thumb, meta.width, meta.height]).toEqual([thumb, width, height])
        }
        const webp = await download(id, avatar, '?thumb=50x50&format=webp')
        expect(webp.headers['content-type']).toBe('image/webp')
        expect((await sharp(webp.rawPayload).metadata()).format).toBe('webp')
        expectProblem(await download(id, avatar, '?thumb=60x60'), 400, 'ER_FILE_THUMB_INVALID')
        expectProblem(
          await download(id, avatar, '?thumb=50x50&format=gif'),
          400,
          'ER_FILE_THUMB_INVALID',
        )
        // Concurrent requests for a new thumbnail share one generation, and it is stored once.
        await t.call({
          method: 'PATCH',
          url: `/api/collections/profiles/records/${id}`,
          payload: {},
        })
        const many = await Promise.all(
          Array.from({ length: 6 }, () => download(id, avatar, '?thumb=50x50&format=avif')),
        )
        const bodies = many.map((r) => r.rawPayload.toString('base64'))
        expect(new Set(bodies).size).toBe(1)
        const thumbs = (await blobKeys(t.blobs)).filter((k) => k.includes(`/${id}/thumbs_`))
        expect(thumbs.filter((k) => k.endsWith('50x50.avif'))).toHaveLength(1)
      })

      it('refuses a disguised executable, a bomb and oversize files, keeping nothing', async () => {
        const before = await blobKeys(t.blobs)
        const elf = await post([
          { name: 'title', value: 'Evil' },
          { name: 'avatar', filename: 'cat.png', content: elfBinary(), type: 'image/png' },
        ])
        const problem = expectProblem(elf, 415, 'ER_FILE_TYPE_NOT_ALLOWED')
        expect(problem.errors?.avatar?.[0]?.message).toMatch(/application\/x-elf/)
        const bomb = await post([
          { name: 'title', value: 'Bomb' },
          { name: 'avatar', filename: 'bomb.png', content: await decompressionBomb(60_000) },
        ])
        expect(expectProblem(bomb, 413, 'ER_FILE_IMAGE_TOO_LARGE').errors).toHaveProperty('avatar')
        const big = await post([
          { name: 'title', value: 'Big' },
          { name: 'docs', filename: 'big.bin', content: Buffer.alloc(64 * 1024 + 1, 7) },
        ])
        expect(expectProblem(big, 413, 'ER_FILE_TOO_LARGE').errors).toHaveProperty('docs')
        // A record write that fails after its files were stored leaves no blob behind.
        const invalid = await post([
          { name: 'avatar', filename: 'ok.png', content: png },
          { name: 'title', value: '' },
        ])
        expect(expectProblem(invalid, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('title')
        const tooMany = await post([
          { name: 'title', value: 'Four' },
          ...[1, 2, 3, 4].map((n) => ({
            name: 'docs',
            filename: `${n}.txt`,
            content: Buffer.from(`${n}`),
          })),
        ])
        expect(expectProblem(tooMany, 400, 'ER_VALIDATION_FAILED').errors).toHaveProperty('docs')
        expect(await blobKeys(t.blobs)).toEqual(before)
      })

      it('serves protected files only with a token whose holder may view the record', async () => {
        await t.call({
          method: 'POST',
          url: '/api/collections',
          payload: { name: 'members', type: 'auth', rules: { create: '' } },
        })
        const sign = async (email: string) => {
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
          return {
            id: (made.json() as { id: string }).id,
            token: (login.json() as { token: string }).token,
          }
        }
        const owner = await sign('owner@example.com')
        const other = await sign('other@example.com')
        const res = await post([
          { name: 'title', value: 'Private' },
          { name: 'owner', value: owner.id },
          { name: 'cv', filename: 'cv.pdf', content: Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n') },
        ])
        expect(res.statusCode, res.body).toBe(201)
        const { id, cv } = res.json() as { id: string; cv: string }
        expectProblem(await download(id, cv), 401, 'ER_FILE_TOKEN_REQUIRED')
        expectProblem(await download(id, cv, '?token=forged.token'), 401, 'ER_FILE_TOKEN_REQUIRED')
        const tokenOf = async (bearer: string) =>
          (
            (
              await t.call({
                method: 'POST',
                url: '/api/files/token',
                headers: { authorization: `Bearer ${bearer}` },
              })
            ).json() as { token: string }
          ).token
        const mine = await download(id, cv, `?token=${await tokenOf(owner.token)}`)
        expect(mine.statusCode).toBe(200)
        expect(mine.headers['content-type']).toBe('application/pdf')
        expect(mine.headers['content-disposition']).toMatch(/^attachment;/)
        expect(mine.headers['cache-control']).toMatch(/^private/)
        // Another member of the same collection is not admitted by the view rule.
        expectProblem(
          await download(id, cv, `?token=${await tokenOf(other.token)}`),
          404,
          'ER_FILE_NOT_FOUND',
        )
        // A superuser (another auth collection) is.
        expect((await download(id, cv, `?token=${await tokenOf(t.token)}`)).statusCode).toBe(200)
        // Signing out voids the tokens of that session.
        const ownerToken = await tokenOf(owner.token)
        await t.call({
          method: 'POST',
          url: '/api/collections/members/auth/logout',
          headers: { authorization: `Bearer ${owner.token}` },
        })
        expectProblem(await download(id, cv, `?token=${ownerToken}`), 401, 'ER_FILE_TOKEN_REQUIRED')
        expectProblem(
          await t.call({ method: 'POST', url: '/api/files/token', anonymous: true }),
          401,
          'ER_AUTH_REQUIRED',
        )
      })

      it('narrows file tokens of API keys to their scopes', async () => {
        const res = await post([
          { name: 'title', value: 'Keyed' },
          { name: 'cv', filename: 'cv.txt', content: Buffer.from('curriculum') },
        ])
        const { id, cv } = res.json() as { id: string; cv: string }
        const keyFor = async (operations: string[]) => {
          const made = await t.call({
            method: 'POST',
            url: '/api/collections/_superusers/auth/api-keys',
            payload: {
              name: `k${operations.join('')}`,
              scopes: [{ collection: 'profiles', operations }],
            },
          })
          expect(made.statusCode, made.body).toBe(201)
          const key = (made.json() as { key: string }).key
          const issued = await t.call({
            method: 'POST',
            url: '/api/files/token',
            headers: { authorization: `Bearer ${key}` },
          })
          return (issued.json() as { token: string }).token
        }
        expect((await download(id, cv, `?token=${await keyFor(['view'])}`)).statusCode).toBe(200)
        expectProblem(
          await download(id, cv, `?token=${await keyFor(['list'])}`),
          404,
          'ER_FILE_NOT_FOUND',
        )
      })

      it('sweeps blobs no record refers to, and exposes names the same way everywhere', async () => {
        const res = await post([
          { name: 'title', value: 'Kept' },
          { name: 'avatar', filename: 'k.png', content: png },
        ])
        const { id, avatar } = res.json() as { id: string; avatar: string }
        const profilesId = t.engine.registry.get('profiles').id
        // What a crash between storing a file and committing its record leaves behind.
        const stray = `${profilesId}/${id}/stray_abcdefghij.txt`
        await t.blobs.put(stray, Readable.from([Buffer.from('left over')]), {
          contentType: 'text/plain',
        })
        expect(await t.engine.files?.sweepOrphans({ graceMs: 0 })).toBe(1)
        const keys = await blobKeys(t.blobs)
        expect(keys).not.toContain(stray)
        expect(keys).toContain(`${profilesId}/${id}/${avatar}`)
        // GraphQL gives the names REST gives.
        const gql = await t.call({
          method: 'POST',
          url: '/graphql',
          payload: { query: `{ profilesById(id: "${id}") { avatar docs } }` },
        })
        expect(gql.json()).toEqual({ data: { profilesById: { avatar, docs: [] } } })
        // The OpenAPI document is valid and describes the multipart body and the file routes.
        const doc = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json() as {
          paths: Record<
            string,
            Record<string, { requestBody?: { content: Record<string, unknown> } }>
          >
        }
        const validation = await new Validator().validate(
          doc as unknown as Parameters<Validator['validate']>[0],
        )
        expect(validation.errors ?? []).toEqual([])
        const create = doc.paths['/api/collections/profiles/records']?.post
        expect(Object.keys(create?.requestBody?.content ?? {})).toContain('multipart/form-data')
        expect(doc.paths).toHaveProperty(['/api/files/{collection}/{record}/{name}'])
        expect(doc.paths).toHaveProperty(['/api/files/token'])
      })
    })
  }
}
