import { validateNewCollection } from '../../../core/schema/validate-collection.js'
import { migrateCollectionTable } from '../collection-ddl.js'
import type { DialectAdapter } from '../dialect-adapter.js'
import type { DynamicDb } from '../dynamic-db.js'

/**
 * The `users` auth collection that the README's tour and OAuth sign-in (`collection` defaults to
 * `users`) assume. It is added only to a database created by this very open, and only when the
 * opener asks for defaults (the CLI and `serve` do; tests and embedders start empty): an existing
 * deployment upgrading never finds a collection it did not make, and an operator who deletes it
 * never sees it come back.
 *
 * The rules are the safe ones for sign-up: anyone may register (create), a user sees, edits and
 * deletes only their own record, and nobody lists other users.
 */
export const DEFAULT_USERS = {
  id: 'c_users',
  name: 'users',
  type: 'auth',
  fields: [{ id: 'f_users_name', name: 'name', type: 'text', max: 200 }],
  rules: {
    list: 'id = @request.auth.id',
    view: 'id = @request.auth.id',
    create: '',
    update: 'id = @request.auth.id',
    delete: 'id = @request.auth.id',
  },
} as const

export async function up(
  db: DynamicDb,
  adapter: DialectAdapter,
  context: { freshDatabase: boolean; seedDefaults: boolean },
): Promise<void> {
  if (!context.freshDatabase || !context.seedDefaults) return
  const now = new Date().toISOString()
  const users = validateNewCollection(structuredClone(DEFAULT_USERS), now)
  await migrateCollectionTable(db, adapter, null, users)
  await db
    .insertInto('_collections')
    .values({
      id: users.id,
      name: users.name,
      definition: JSON.stringify(users),
      created: now,
      updated: now,
    })
    .execute()
}
