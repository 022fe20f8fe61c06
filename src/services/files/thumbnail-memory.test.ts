import { describe, expect, it } from 'vitest'
import { createThumbnailMemory, MAX_REMEMBERED_THUMB_BYTES } from './thumbnail-memory.js'

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill)

describe('thumbnail memory', () => {
  it('evicts the least recently used entries to stay within its bytes', () => {
    const memory = createThumbnailMemory({ maxBytes: 300 })
    memory.remember('a', bytes(100, 1))
    memory.remember('b', bytes(100, 2))
    memory.remember('c', bytes(100, 3))
    // Reading `a` makes `b` the coldest.
    expect(memory.recall('a')?.[0]).toBe(1)
    memory.remember('d', bytes(100, 4))
    expect(memory.recall('b')).toBeUndefined()
    expect(['a', 'c', 'd'].map((key) => memory.recall(key)?.[0])).toEqual([1, 3, 4])
    expect(memory.size()).toEqual({ entries: 3, bytes: 300 })
    // One larger entry pushes out as many as it needs.
    memory.remember('e', bytes(250, 5))
    expect(memory.size()).toEqual({ entries: 1, bytes: 250 })
    expect(memory.recall('e')?.length).toBe(250)
  })

  it('replaces an entry under the same key and counts its bytes once', () => {
    const memory = createThumbnailMemory({ maxBytes: 1000 })
    memory.remember('a', bytes(100, 1))
    memory.remember('a', bytes(40, 2))
    expect(memory.size()).toEqual({ entries: 1, bytes: 40 })
    expect(memory.recall('a')?.[0]).toBe(2)
  })

  it('keeps nothing larger than an entry may be or than the whole budget', () => {
    const memory = createThumbnailMemory({ maxBytes: 4 * MAX_REMEMBERED_THUMB_BYTES })
    memory.remember('big', bytes(MAX_REMEMBERED_THUMB_BYTES + 1, 1))
    expect(memory.recall('big')).toBeUndefined()
    const small = createThumbnailMemory({ maxBytes: 50 })
    small.remember('a', bytes(20, 1))
    small.remember('over', bytes(51, 2))
    expect(small.recall('over')).toBeUndefined()
    expect(small.recall('a')?.[0]).toBe(1)
  })
})
