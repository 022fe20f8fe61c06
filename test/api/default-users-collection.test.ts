/**
 * A database created by the CLI (`seedDefaults`) starts with the `users` auth collection the
 * README's tour and OAuth assume, with rules that let anyone sign up and nobody see another user;
 * it is made once, never again after an operator deletes it, and never in an existing database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import { buildServer } from '../../src/http/server.js'
import { cliContext } from '../../src/services/context.js'
import { createEngine } from '../../src/services/create-engine.js'
import { availableDialects, createPostgresSchema, type DialectName } from '../helpers/dialects.js'
import { testPasswords } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** A database that can be opened several times, as separate starts of `serve` would. */
async function database(dialect: DialectName) {
  const dir = mkdtempSync(join(tmpdir(), 'er-users-'))
  const schema = dialect === 'postgres' ? await createPostgresSchema() : undefined
  cleanups.push(async () => {
    rmSync(dir, { recursive: true, force: true })
    await schema?.drop()
  })
  return async (seedDefaults: boolean) => {
    const store = schema
      ? await openPostgresStore({ url: schema.url, maxConnections: 2, seedDefaults })
      : await openSqliteStore({ file: join(dir, 'data.db'), seedDefaults })
    const engine = await createEngine({
      store,
      migrationsDir: join(dir, 'migrations'),
      passwords: testPasswords,
      housekeepingMs: 0,
    })
    const app = await buildServer(engine)
    return {
      engine,
      app,
      names: () => engine.registry.list().map((c) => c.name),
      async close() {
        await app.close()
        await engine.close()
      },
    }
  }
}

describe.each(dialects)('default users collection (%s)', (dialect) => {
  it('is created on a fresh database with sign-up open and every user seeing only themself', async () => {
    const open = await database(dialect)
    const server = await open(true)
    try {
      const users = server.engine.registry.get('users')
      expect(users.type).toBe('auth')
      expect(users.rules).toEqual({
        list: 'id = @request.auth.id',
        view: 'id = @request.auth.id',
        create: '',
        update: 'id = @request.auth.id',
        delete: 'id = @request.auth.id',
      })
      for (const email of ['ann@example.com', 'bob@example.com']) {
        const signUp = await server.app.inject({
          method: 'POST',
          url: '/api/collections/users/records',
          payload: { email, password: 'a long passphrase', name: email.slice(0, 3) },
        })
        expect(signUp.statusCode, signUp.body).toBe(201)
        expect(signUp.json()).not.toHaveProperty('password')
      }
      const login = await server.app.inject({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: 'ann@example.com', password: 'a long passphrase' },
      })
      expect(login.statusCode, login.body).toBe(200)
      const list = await server.app.inject({
        method: 'GET',
        url: '/api/collections/users/records',
        headers: { authorization: `Bearer ${login.json().token}` },
      })
      expect(list.json().items.map((u: { email: string }) => u.email)).toEqual(['ann@example.com'])
      const anonymous = await server.app.inject({
        method: 'GET',
        url: '/api/collections/users/records',
      })
      expect(anonymous.json().items).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('is made once: reopening keeps it, and a deleted one does not come back', async () => {
    const open = await database(dialect)
    const first = await open(true)
    await first.close()
    const second = await open(true)
    expect(second.names().filter((n) => n === 'users')).toHaveLength(1)
    await second.engine.schema.deleteCollection(
      cliContext(second.engine.registry.get('_superusers')),
      'users',
    )
    await second.close()
    const third = await open(true)
    try {
      expect(third.names()).not.toContain('users')
    } finally {
      await third.close()
    }
  })

  it('is not made when the opener does not ask for defaults (tests, embedders)', async () => {
    const open = await database(dialect)
    const server = await open(false)
    try {
      expect(server.names()).toEqual(['_superusers'])
    } finally {
      await server.close()
    }
  })
})
