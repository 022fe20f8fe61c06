import { describe, expect, it } from 'vitest'
import { deepNestingOffset, nestsDeeperThan } from './json-depth.js'

describe('JSON nesting bounds', () => {
  it('finds the offset where text nests too deep, ignoring brackets in strings', () => {
    expect(deepNestingOffset('{"a":[[1]]}', 2)).toBe(6)
    expect(deepNestingOffset('{"a":[[1]]}', 3)).toBe(-1)
    expect(deepNestingOffset('{"a":"[[[[[\\"[[[["}', 1)).toBe(-1)
    expect(deepNestingOffset('[]'.repeat(1000), 1)).toBe(-1)
    expect(deepNestingOffset('['.repeat(100_000), 64)).toBe(64)
  })

  it('measures parsed values without recursion, even very deep ones', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(nestsDeeperThan(deep, 64)).toBe(true)
    expect(nestsDeeperThan({ a: { b: [1, { c: 2 }] } }, 4)).toBe(false)
    expect(nestsDeeperThan({ a: { b: [1, { c: {} }] } }, 4)).toBe(true)
    expect(nestsDeeperThan('text', 0)).toBe(false)
  })
})
