import { describe, expect, it } from 'vitest'
import { createLogRing } from './log-ring.js'

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, ...fields }) + '\n'

describe('log ring', () => {
  it('keeps the last lines only, newest first', () => {
    const ring = createLogRing(3)
    for (let i = 1; i <= 5; i++) ring.push(line({ msg: `m${i}` }))
    expect(ring.query({}).map((l) => l.msg)).toEqual(['m5', 'm4', 'm3'])
    expect(ring.query({ limit: 1 }).map((l) => l.msg)).toEqual(['m5'])
  })

  it('filters by lowest level, status code or class, route part and request id', () => {
    const ring = createLogRing()
    ring.push(line({ reqId: 'a', status: 200, route: '/api/collections/:name/records' }))
    ring.push(line({ reqId: 'b', status: 404, path: '/api/collections/posts/records/x' }))
    ring.push(line({ level: 50, reqId: 'c', status: 503, msg: 'boom' }))
    ring.push('not json\n')
    expect(ring.query({ level: 'error' }).map((l) => l.reqId)).toEqual(['c'])
    expect(ring.query({ level: 'error' })[0]?.levelName).toBe('error')
    expect(ring.query({ status: '4xx' }).map((l) => l.reqId)).toEqual(['b'])
    expect(ring.query({ status: '200' }).map((l) => l.reqId)).toEqual(['a'])
    expect(ring.query({ route: 'POSTS/records' }).map((l) => l.reqId)).toEqual(['b'])
    expect(ring.query({ requestId: 'a' }).map((l) => l.status)).toEqual([200])
  })

  it('keeps only the request fields of a line too long to hold', () => {
    const ring = createLogRing()
    ring.push(
      line({ reqId: 'big', status: 500, msg: 'failed', err: { stack: 'x'.repeat(20_000) } }),
    )
    const [kept] = ring.query({})
    expect(kept).toMatchObject({ reqId: 'big', status: 500, msg: 'failed', truncated: true })
    expect(kept?.err).toBeUndefined()
  })
})
