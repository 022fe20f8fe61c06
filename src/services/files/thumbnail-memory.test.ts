import { describe, expect, it } from 'vitest'
import { createThumbnailMemory, MAX_REMEMBERED_THUMB_BYTES } from './thumbnail-memory.js'

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill)
/** Large enough that an entry's own overhead (its key, the map entry) is small beside it. */
const N = 10_000

describe('thumbnail memory', () => {
  it('evicts the least recently used entries to stay within its bytes', () => {
    const memory = createThumbnailMemory({ maxBytes: 3 * N + 3 * 300 })
    memory.remember('a', bytes(N, 1))
    memory.remember('b', bytes(N, 2))
    memory.remember('c', bytes(N, 3))
    // Reading `a` makes `b` the coldest.
    expect(memory.recall('a')?.[0]).toBe(1)
    memory.remember('d', bytes(N, 4))
    expect(memory.recall('b')).toBeUndefined()
    expect(['a', 'c', 'd'].map((key) => memory.recall(key)?.[0])).toEqual([1, 3, 4])
    expect(memory.size().entries).toBe(3)
    // One larger entry pushes out as many as it needs.
    memory.remember('e', bytes(2.5 * N, 5))
    expect(memory.size().entries).toBe(1)
    expect(memory.recall('e')?.length).toBe(2.5 * N)
  })

  it('replaces an entry under the same key and counts it once', () => {
    const memory = createThumbnailMemory({ maxBytes: 10 * N })
    memory.remember('a', bytes(N, 1))
    const once = memory.size().bytes
    memory.remember('a', bytes(N, 2))
    expect(memory.size()).toEqual({ entries: 1, bytes: once })
    expect(memory.recall('a')?.[0]).toBe(2)
  })

  it('keeps nothing larger than an entry may be or than the whole budget', () => {
    const memory = createThumbnailMemory({ maxBytes: 4 * MAX_REMEMBERED_THUMB_BYTES })
    memory.remember('big', bytes(MAX_REMEMBERED_THUMB_BYTES + 1, 1))
    expect(memory.recall('big')).toBeUndefined()
    const small = createThumbnailMemory({ maxBytes: N })
    small.remember('a', bytes(20, 1))
    small.remember('over', bytes(N + 1, 2))
    expect(small.recall('over')).toBeUndefined()
    expect(small.recall('a')?.[0]).toBe(1)
  })

  it('counts what an entry holds besides its bytes: tiny thumbnails cannot overrun the budget', () => {
    const memory = createThumbnailMemory({ maxBytes: 64 * 1024 })
    for (let i = 0; i < 10_000; i++)
      memory.remember(`c1/r${i}/thumbs_a.png/8x8.png#${i}`, bytes(1, i))
    // By their lengths alone all 10 000 fit in 64 KiB; each also holds a key and a map entry.
    expect(memory.size().entries).toBeLessThan(1000)
    expect(memory.size().bytes).toBeLessThanOrEqual(64 * 1024)
  })

  it('does not keep a slice of a shared buffer alive', () => {
    const memory = createThumbnailMemory({ maxBytes: N })
    // Buffer.concat of a few bytes is a slice of Node's shared pool (as a thumbnail read back
    // from the blob store is).
    const slice = Buffer.concat([Buffer.from('tiny')])
    expect(slice.buffer.byteLength).toBeGreaterThan(slice.length)
    memory.remember('a', slice)
    const kept = memory.recall('a')
    expect(kept?.toString()).toBe('tiny')
    expect(kept?.buffer.byteLength).toBe(4)
  })
})
