/** A second engine on a test engine's database, as another node of a deployment would run. */
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { Response as InjectResponse } from 'light-my-request'
import type { Bus } from '../../src/adapters/bus/bus.js'
import { buildServer } from '../../src/http/server.js'
import {
  createEngine,
  type Engine,
  type RealtimeSettings,
} from '../../src/services/create-engine.js'
import { testPasswords, type TestEngine } from './test-engine.js'

export interface SecondNode {
  engine: Engine
  app: FastifyInstance
  /** `app.inject` as node A's superuser unless `anonymous` or `headers.authorization`. */
  call(options: InjectOptions & { anonymous?: boolean }): Promise<InjectResponse>
  close(): Promise<void>
}

/** Another engine on `a`'s database (its own store, as another process would have it). */
export async function openSecondNode(
  a: TestEngine,
  options: { bus: Bus; schemaRecheckMs: number; realtime?: Partial<RealtimeSettings> },
): Promise<SecondNode> {
  const store = await a.openAnotherStore()
  const engine = await createEngine({
    store,
    migrationsDir: join(a.dir, 'migrations-b'),
    passwords: testPasswords,
    schemaRecheckMs: options.schemaRecheckMs,
    bus: options.bus,
    realtime: { dispatchPollMs: 200, ...options.realtime },
    onBackgroundError: (error) => console.error('[second node background error]', error),
  })
  const app = await buildServer(engine, {})
  return {
    engine,
    app,
    call({ anonymous, ...rest }) {
      const headers = {
        ...(anonymous ? {} : { authorization: `Bearer ${a.token}` }),
        ...rest.headers,
      }
      return app.inject({ ...rest, headers })
    },
    async close() {
      await app.close()
      await engine.close()
    },
  }
}
