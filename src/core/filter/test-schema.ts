import type { CollectionDef, FieldDef } from '../schema/types.js'

/**
 * A small schema for the filter tests (posts → users → teams → orgs), shared by the core tests
 * and the store compiler's tests so that both check the same paths.
 */
export function defineCollection(
  name: string,
  fields: Array<Omit<FieldDef, 'id'> & Record<string, unknown>>,
  type: CollectionDef['type'] = 'base',
): CollectionDef {
  return {
    id: `c_${name}`,
    name,
    type,
    system: false,
    fields: fields.map((field) => ({ ...field, id: `f_${name}_${field.name}` }) as FieldDef),
    indexes: [],
    rules: { list: '', view: '', create: '', update: '', delete: '' },
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:00.000Z',
  }
}

export const orgs = defineCollection('orgs', [
  { name: 'name', type: 'text' },
  { name: 'country', type: 'text' },
])

export const teams = defineCollection('teams', [
  { name: 'name', type: 'text' },
  { name: 'org', type: 'relation', collection: 'orgs', maxSelect: 1 },
])

export const users = defineCollection(
  'users',
  [
    { name: 'name', type: 'text' },
    { name: 'team', type: 'relation', collection: 'teams', maxSelect: 1 },
    { name: 'roles', type: 'select', values: ['admin', 'editor'], maxSelect: 2 },
    { name: 'secret', type: 'text', hidden: true },
  ],
  'auth',
)

export const posts = defineCollection('posts', [
  { name: 'title', type: 'text' },
  { name: 'views', type: 'number' },
  { name: 'published', type: 'bool' },
  { name: 'tags', type: 'select', values: ['news', 'tech'], maxSelect: 5 },
  { name: 'author', type: 'relation', collection: 'users', maxSelect: 1 },
  { name: 'editors', type: 'relation', collection: 'users', maxSelect: 10 },
  { name: 'publishedAt', type: 'date' },
  { name: 'data', type: 'json' },
  { name: 'draftNote', type: 'text', hidden: true },
])

export const testCollections = [orgs, teams, users, posts]

export function findTestCollection(name: string): CollectionDef | undefined {
  return testCollections.find((collection) => collection.name === name)
}
