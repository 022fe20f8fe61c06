import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createCollection,
  createRecord,
  expectProblem,
  listRecords,
} from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

const POSTS = '/api/collections/posts/records'

describe.each(dialects)('hostile HTTP input on %s', (dialect) => {
  let t: TestEngine
  const count = async () =>
    (await listRecords(t, 'posts', { count: 'true', perPage: '1' })).totalItems
  const send = (payload: string | Buffer, contentType = 'application/json', url = POSTS) =>
    t.call({ method: 'POST', url, payload, headers: { 'content-type': contentType } })

  beforeAll(async () => {
    t = await createTestEngine(dialect, { bodyLimit: 4096 })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'data', type: 'json' },
      ],
    })
  })
  afterAll(async () => {
    await t.close()
  })

  it.each([
    [
      'a body over the limit',
      () => send(JSON.stringify({ title: 'x'.repeat(5000) })),
      413,
      'ER_BODY_TOO_LARGE',
    ],
    [
      'a text/plain body',
      () => send('{"title":"x"}', 'text/plain'),
      415,
      'ER_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a form body',
      () => send('title=x', 'application/x-www-form-urlencoded'),
      415,
      'ER_UNSUPPORTED_MEDIA_TYPE',
    ],
    ['invalid JSON', () => send('{"title": "x",}'), 400, 'ER_REQUEST_MALFORMED'],
    ['truncated JSON', () => send('{"title": "x'), 400, 'ER_REQUEST_MALFORMED'],
    ['an empty JSON body', () => send(''), 400, 'ER_REQUEST_MALFORMED'],
    [
      'a __proto__ key',
      () => send('{"title":"x","__proto__":{"admin":true}}'),
      400,
      'ER_REQUEST_MALFORMED',
    ],
    [
      'a nested __proto__ key',
      () => send('{"data":{"__proto__":{"polluted":true}}}'),
      400,
      'ER_REQUEST_MALFORMED',
    ],
    [
      'a constructor.prototype key',
      () => send('{"data":{"constructor":{"prototype":{"polluted":true}}}}'),
      400,
      'ER_REQUEST_MALFORMED',
    ],
  ])(
    'answers %s with a problem (%i %s) and stores nothing',
    async (_why, request, status, code) => {
      const before = await count()
      expectProblem(await request(), status, code)
      expect(await count()).toBe(before)
      expect(({} as Record<string, unknown>).admin).toBeUndefined()
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    },
  )

  it('accepts a body just under the limit', async () => {
    const res = await send(JSON.stringify({ title: 'x'.repeat(3000) }))
    expect(res.statusCode, res.body).toBe(201)
  })

  it.each([
    ['GET', '/nope'],
    ['GET', '/api'],
    ['GET', '/api/collections/posts/records/a/b'],
    ['PUT', '/api/collections/posts'],
    ['GET', '/api/collections/bad name/records'],
    ['GET', `/api/collections/${'x'.repeat(300)}/records`],
    ['GET', `/api/collections/posts/records/${'y'.repeat(300)}`],
    ['GET', '/api/collections/%E0%A4%A/records'],
    ['GET', '/api/collections/%FF/records'],
  ])('answers %s %s with a 4xx problem', async (method, url) => {
    const res = await t.call({ method: method as 'GET', url })
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    const body = res.json()
    for (const key of ['type', 'title', 'status', 'detail', 'code'])
      expect(body).toHaveProperty(key)
    expect(body.status).toBe(res.statusCode)
  })

  it('answers an unknown route with 404 ER_ROUTE_NOT_FOUND', async () => {
    expectProblem(
      await t.call({ method: 'GET', url: '/api/nothing-here' }),
      404,
      'ER_ROUTE_NOT_FOUND',
    )
    // Longer than any name or id can be: the router refuses it before any handler runs.
    const long = await t.call({ method: 'GET', url: `/api/collections/${'x'.repeat(300)}/records` })
    expectProblem(long, 404, 'ER_ROUTE_NOT_FOUND')
    const badUrl = await t.call({ method: 'GET', url: '/api/collections/%E0%A4%A/records' })
    expect(badUrl.statusCode).toBeLessThan(500)
    expect(badUrl.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it.each([
    ['GET', '/api/collections/ghosts/records'],
    ['POST', '/api/collections/ghosts/records'],
    ['GET', '/api/collections/ghosts/records/x1'],
    ['PATCH', '/api/collections/ghosts/records/x1'],
    ['DELETE', '/api/collections/ghosts/records/x1'],
    ['GET', '/api/collections/ghosts'],
    ['PATCH', '/api/collections/ghosts'],
    ['DELETE', '/api/collections/ghosts'],
  ])('answers %s %s with 404 ER_COLLECTION_NOT_FOUND', async (method, url) => {
    const res = await t.call({
      method: method as 'GET',
      url,
      ...(method === 'POST' || method === 'PATCH' ? { payload: {} } : {}),
    })
    expectProblem(res, 404, 'ER_COLLECTION_NOT_FOUND')
  })

  it('answers a missing record with 404 ER_RECORD_NOT_FOUND', async () => {
    expectProblem(await t.call({ method: 'GET', url: `${POSTS}/nope` }), 404, 'ER_RECORD_NOT_FOUND')
    expectProblem(
      await t.call({ method: 'PATCH', url: `${POSTS}/nope`, payload: { title: 'x' } }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    expectProblem(
      await t.call({ method: 'DELETE', url: `${POSTS}/nope` }),
      404,
      'ER_RECORD_NOT_FOUND',
    )
  })

  it.each([
    ['a lone continuation byte', Buffer.from([0x80])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['a CESU-8 surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['0xFF', Buffer.from([0xff, 0xfe])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
  ])(
    'survives invalid UTF-8 (%s) in a JSON string: 4xx, or stored with replacement characters',
    async (_why, bytes) => {
      const payload = Buffer.concat([Buffer.from('{"title":"a'), bytes, Buffer.from('b"}')])
      const res = await send(payload)
      expect(res.statusCode, res.body).toBeLessThan(500)
      if (res.statusCode === 201) {
        const title = res.json().title as string
        expect(title.startsWith('a') && title.endsWith('b')).toBe(true)
        expect(title.isWellFormed()).toBe(true)
        const read = await t.call({ method: 'GET', url: `${POSTS}/${res.json().id}` })
        expect(read.json().title).toBe(title)
      } else {
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
      }
    },
  )

  it('refuses escaped lone surrogates and NUL in text alike on both dialects', async () => {
    const lone = await send('{"title":"a\\ud800b"}')
    expect(expectProblem(lone, 400, 'ER_VALIDATION_FAILED').errors?.title?.[0]?.code).toBe(
      'encoding',
    )
    const nul = await send('{"title":"a\\u0000b"}')
    expect(expectProblem(nul, 400, 'ER_VALIDATION_FAILED').errors?.title?.[0]?.code).toBe(
      'encoding',
    )
    // Inside JSON a NUL stays an escape sequence, which every dialect stores.
    const json = await send('{"data":{"k":"a\\u0000b"}}')
    expect(json.statusCode, json.body).toBe(201)
    expect(json.json().data).toEqual({ k: 'a\u0000b' })
  })

  it('treats a huge or odd Content-Length and method safely', async () => {
    const res = await t.call({ method: 'DELETE', url: '/api/collections/posts/records' })
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.statusCode).toBeLessThan(500)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
  })

  it('echoes a plain X-Request-Id and replaces a hostile one', async () => {
    const plain = await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { 'x-request-id': 'abc-123' },
    })
    expect(plain.headers['x-request-id']).toBe('abc-123')
    const hostile = await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { 'x-request-id': 'a\r\nSet-Cookie: x=1' },
    })
    expect(hostile.headers['x-request-id']).not.toContain('Set-Cookie')
    expect(hostile.headers['set-cookie']).toBeUndefined()
  })

  it('keeps working after all of the above', async () => {
    const record = await createRecord(t, 'posts', { title: 'still fine' })
    expect(record.title).toBe('still fine')
  })
})
