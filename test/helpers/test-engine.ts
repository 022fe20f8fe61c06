/**
 * A whole engine on a fresh database of the given dialect (a temporary SQLite file, or a new
 * PostgreSQL schema), with a superuser signed in. `close()` removes everything it made.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Response as InjectResponse } from 'light-my-request'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import type { QueryObserver, Store } from '../../src/adapters/store/store.js'
import { buildServer, type ServerOptions } from '../../src/http/server.js'
import { createArgon2Hasher } from '../../src/services/auth/password-hasher.js'
import { cliContext } from '../../src/services/context.js'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import type { Bus } from '../../src/adapters/bus/bus.js'
import {
  createEngine,
  type Engine,
  type EngineOptions,
  type RealtimeSettings,
} from '../../src/services/create-engine.js'
import { createPostgresSchema, type DialectName } from './dialects.js'

/** Cheap argon2 parameters: tests check behaviour, not hashing cost. */
export const testPasswords = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 })

export interface TestEngine {
  dialect: DialectName
  engine: Engine
  app: FastifyInstance
  dir: string
  token: string
  /** Where the data is: the SQLite file, or the PostgreSQL URL (with its schema's search_path). */
  database: { file: string } | { url: string }
  /**
   * A second, independent store on the same database, as another process would have it: its
   * writes are not seen by this engine's caches. Closing it is the caller's job.
   */
  openAnotherStore(): Promise<Store>
  /** `app.inject` with the superuser's token unless `headers.authorization` is given. */
  call(options: InjectOptions & { anonymous?: boolean }): Promise<InjectResponse>
  close(): Promise<void>
}

export async function openTestStore(
  dialect: DialectName,
  dir: string,
  onQuery?: QueryObserver,
): Promise<{
  store: Store
  database: { file: string } | { url: string }
  reopen(): Promise<Store>
  drop(): Promise<void>
}> {
  if (dialect === 'sqlite') {
    const file = join(dir, 'data.db')
    return {
      store: await openSqliteStore({ file, onQuery }),
      database: { file },
      reopen: () => openSqliteStore({ file }),
      drop: async () => {},
    }
  }
  const schema = await createPostgresSchema()
  return {
    store: await openPostgresStore({ url: schema.url, maxConnections: 4, onQuery }),
    database: { url: schema.url },
    reopen: () => openPostgresStore({ url: schema.url, maxConnections: 2 }),
    drop: () => schema.drop(),
  }
}

export async function createTestEngine(
  dialect: DialectName,
  options: ServerOptions & {
    onQuery?: QueryObserver
    engine?: Omit<EngineOptions, 'store' | 'migrationsDir'>
    realtime?: Partial<RealtimeSettings>
    bus?: Bus
  } = {},
): Promise<TestEngine> {
  const {
    engine: engineOptions,
    realtime: _realtime,
    bus: _bus,
    onQuery: _onQuery,
    ...serverOptions
  } = options
  const dir = mkdtempSync(join(tmpdir(), 'er-test-'))
  const { store, database, reopen, drop } = await openTestStore(dialect, dir, options.onQuery)
  const bus = options.bus ?? createInProcessBus()
  const engine = await createEngine({
    store,
    migrationsDir: join(dir, 'migrations'),
    passwords: testPasswords,
    schemaRecheckMs: 0,
    tracing: serverOptions.tracing === true,
    bus,
    realtime: { dispatchPollMs: 200, ...options.realtime },
    onBackgroundError: (error) => console.error('[test engine background error]', error),
    ...engineOptions,
  })
  const app = await buildServer(engine, serverOptions)
  const superusers = engine.registry.get('_superusers')
  await engine.records.create(cliContext(superusers), '_superusers', {
    email: 'root@example.com',
    password: 'correct horse battery',
  })
  const signedIn = await engine.auth.loginWithPassword('_superusers', {
    identity: 'root@example.com',
    password: 'correct horse battery',
  })
  if (!('token' in signedIn)) throw new Error('the test superuser has MFA on')
  const { token } = signedIn
  return {
    dialect,
    engine,
    app,
    dir,
    token,
    database,
    openAnotherStore: reopen,
    call({ anonymous, ...options }) {
      const headers = {
        ...(anonymous ? {} : { authorization: `Bearer ${token}` }),
        ...options.headers,
      }
      return app.inject({ ...options, headers })
    },
    async close() {
      await app.close()
      await engine.close()
      await bus.close()
      await drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
