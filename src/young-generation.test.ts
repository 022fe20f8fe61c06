import { describe, expect, it } from 'vitest'
import { withYoungGenerationCap, YOUNG_GENERATION_FLAG } from './young-generation.js'

describe('withYoungGenerationCap', () => {
  it('adds the cap, unless the operator set a size on the command line or in NODE_OPTIONS', () => {
    expect(withYoungGenerationCap(['--enable-source-maps'], '')).toEqual([
      '--enable-source-maps',
      YOUNG_GENERATION_FLAG,
    ])
    expect(withYoungGenerationCap(['--max-semi-space-size=32'], '')).toEqual([
      '--max-semi-space-size=32',
    ])
    expect(withYoungGenerationCap([], '--max-semi-space-size=2 --trace-gc')).toEqual([])
  })
})
