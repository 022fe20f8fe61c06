import { describe, expect, it } from 'vitest'
import { readDependencies } from './read-dependencies.js'
import type { CollectionDef, FieldDef } from './types.js'

const collection = (
  name: string,
  fields: FieldDef[] = [],
  rules: Partial<CollectionDef['rules']> = {},
): CollectionDef => ({
  id: `id_${name}`,
  name,
  type: 'base',
  system: false,
  fields,
  indexes: [],
  rules: { list: '', view: '', create: null, update: null, delete: null, ...rules },
  created: '',
  updated: '',
})
const relation = (name: string, target: string): FieldDef => ({
  id: `f_${name}`,
  name,
  type: 'relation',
  collection: target,
})

describe('readDependencies', () => {
  const catalogue = new Map(
    [
      collection('users'),
      collection('posts', [relation('author', 'users')]),
      // By id, as a renamed target may be referred to.
      collection('comments', [relation('post', 'id_posts')]),
      collection('tags'),
      collection('audits', [], { list: '@collection.flags.on = true' }),
      collection('flags'),
      collection('offers', [], { view: 'expires > @now' }),
    ].map((c) => [c.name, c]),
  )
  const deps = readDependencies(catalogue)

  it('joins collections by relations in both directions, transitively', () => {
    expect(deps.get('users')?.collections).toEqual(['comments', 'posts', 'users'])
    expect(deps.get('comments')?.collections).toEqual(['comments', 'posts', 'users'])
  })

  it('a collection with no relation depends on itself alone', () => {
    expect(deps.get('tags')).toEqual({ collections: ['tags'], timeDependent: false })
  })

  it('follows @collection references in list and view rules', () => {
    expect(deps.get('audits')?.collections).toEqual(['audits', 'flags'])
  })

  it('marks rules that read @now as time-dependent', () => {
    expect(deps.get('offers')?.timeDependent).toBe(true)
    expect(deps.get('posts')?.timeDependent).toBe(false)
  })
})
