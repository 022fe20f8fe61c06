import { describe, expect, it } from 'vitest'
import { buildSelectEnum, enumValueNames } from './select-enums.js'

describe('select values as GraphQL enum values', () => {
  it('keeps valid names and maps the others predictably', () => {
    expect(
      enumValueNames(['draft', 'in-progress', 'in_progress', '4k', 'null', 'a b', 'a-b', 'Ünï']),
    ).toEqual(['draft', 'in_progress_2', 'in_progress', '_4k', '_null', 'a_b', 'a_b_2', '_n_'])
    for (const name of enumValueNames(['true', 'false', '-', '--', '_'])) {
      expect(name).toMatch(/^[_A-Za-z][_0-9A-Za-z]*$/)
    }
    expect(new Set(enumValueNames(['-', '--', '_', '__'])).size).toBe(4)
  })

  it('reads and writes the stored strings, and returns a value no longer listed as stored', () => {
    const type = buildSelectEnum('PostStage', 'posts', {
      id: 'f',
      name: 'stage',
      type: 'select',
      values: ['draft', 'in-review'],
    })
    expect(type.getValues().map((v) => [v.name, v.value])).toEqual([
      ['draft', 'draft'],
      ['in_review', 'in-review'],
    ])
    expect(type.serialize('in-review')).toBe('in_review')
    expect(type.parseValue('in_review')).toBe('in-review')
    expect(type.serialize('archived')).toBe('archived')
    expect(() => type.serialize(3)).toThrow()
  })
})
