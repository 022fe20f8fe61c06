/**
 * A subscriber that stops reading is cut off with a reason once its unread bytes pass the
 * buffer limit, instead of the server buffering for it without bound. Real socket, real writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { openSse } from '../helpers/sse-client.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const BIG = 'x'.repeat(50_000)
const BATCHES = 12
const PER_BATCH = 15

describe.each(dialects)('realtime back-pressure on %s', (dialect) => {
  let t: TestEngine
  let base: string

  beforeAll(async () => {
    t = await createTestEngine(dialect, { realtime: { maxBufferBytes: 64 * 1024 } })
    await createCollection(t, { name: 'blobs', fields: [{ name: 'body', type: 'text' }] })
    base = await t.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => t?.close())

  it(
    'disconnects a client that does not read, with event: error and a reason',
    { timeout: 120_000 },
    async () => {
      const slow = await openSse(
        `${base}/api/realtime?topic=blobs`,
        { authorization: `Bearer ${t.token}` },
        { paused: true },
      )
      expect(slow.status).toBe(200)
      // 9 MB of events: more than the loopback socket buffers hold for a reader that is paused.
      for (let b = 0; b < BATCHES; b++) {
        const requests = Array.from({ length: PER_BATCH }, () => ({
          method: 'POST',
          url: '/api/collections/blobs/records',
          body: { body: BIG },
        }))
        const res = await t.call({ method: 'POST', url: '/api/batch', payload: { requests } })
        expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
      }
      // Wait (bounded) until the server has let the stream go.
      for (let i = 0; i < 200 && t.engine.realtime?.hub.size !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(t.engine.realtime?.hub.size).toBe(0)
      const text = await slow.body()
      const frames = text.split('\n\n').filter((f) => f.trim() !== '')
      const delivered = frames.filter((f) => f.startsWith('id: ')).length
      expect(delivered).toBeLessThan(BATCHES * PER_BATCH)
      expect(frames.at(-1)).toMatch(/^event: error\ndata: \{"reason":"slow_consumer"/)
    },
  )
})
