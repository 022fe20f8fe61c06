import { describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../bus/in-process/in-process-bus.js'
import { createMemoryCache } from './memory-cache.js'

const answer = (body: string) => ({ etag: '"e"', body })

describe('in-process response cache', () => {
  it('drops the least recently used answers past its byte bound, counting evictions', async () => {
    // Each answer: 2 bytes × (100 body + 3 etag + 1 key) = 208 bytes; room for sixteen.
    const cache = await createMemoryCache({ maxBytes: 16 * 208, ttlMs: 60_000 })
    const keys = 'abcdefghijklmnop'.split('')
    for (const key of keys) await cache.set(key, answer(key.repeat(100)))
    expect(cache.entries).toBe(16)
    expect(cache.evictions).toBe(0)
    await cache.get('a') // a is now the most recently used; b the coldest
    await cache.set('q', answer('q'.repeat(100)))
    expect(cache.evictions).toBe(1)
    expect(await cache.get('b')).toBeUndefined()
    expect((await cache.get('a'))?.body).toBe('a'.repeat(100))
    expect(await cache.get('q')).toBeDefined()
  })

  it('never keeps an answer larger than a sixteenth of its bound', async () => {
    const cache = await createMemoryCache({ maxBytes: 16_000, ttlMs: 60_000 })
    await cache.set('big', answer('x'.repeat(600)))
    expect(await cache.get('big')).toBeUndefined()
  })

  it('forgets answers older than the TTL', async () => {
    let now = 0
    const cache = await createMemoryCache({ maxBytes: 1 << 20, ttlMs: 1000 }, undefined, () => now)
    await cache.set('k', answer('v'))
    now = 999
    expect(await cache.get('k')).toBeDefined()
    now = 1000
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.entries).toBe(0)
  })

  it('counts a write at once, and another worker’s through the bus once', async () => {
    const bus = createInProcessBus()
    const here = await createMemoryCache({ maxBytes: 1 << 20, ttlMs: 1000 }, bus)
    const there = await createMemoryCache({ maxBytes: 1 << 20, ttlMs: 1000 }, bus)
    expect(here.versions(['posts', 'users'])).toBe('0,0')
    await here.bump(['posts'])
    expect(here.versions(['posts', 'users'])).toBe('1,0')
    await new Promise((r) => setTimeout(r, 10))
    expect(there.versions(['posts', 'users'])).toBe('1,0')
    await here.close()
    await there.close()
    await bus.close()
  })
})
