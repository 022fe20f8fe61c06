import type { CollectionDef } from './types.js'

/**
 * The built-in auth collection of administrators. Its rules are all `null`: only superusers may
 * touch it, through the API or the CLI.
 */
export const SUPERUSERS: CollectionDef = {
  id: 'sys_superusers',
  name: '_superusers',
  type: 'auth',
  system: true,
  fields: [],
  indexes: [],
  rules: { list: null, view: null, create: null, update: null, delete: null },
  created: '2026-11-28T00:00:00.000Z',
  updated: '2026-11-28T00:00:00.000Z',
}
