/**
 * PostgreSQL runs the engine's statements prepared, one per text and connection
 * (postgres/prepared-pool.ts). A prepared `select *` fails once its table gains or loses a
 * column ("cached plan must not change result type"), so a node whose connections prepared reads
 * before another node changed the table must still answer as if it had the new schema: never a
 * 500, and after that the statements run prepared again.
 */
import { join } from 'node:path'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { isPostgresAvailable } from '../helpers/dialects.js'
import { createTestEngine, testPasswords, type TestEngine } from '../helpers/test-engine.js'

/** Node B: another engine on A's database, no bus shared with A, a schema poll once an hour. */
async function openSecondNode(a: TestEngine) {
  const engine: Engine = await createEngine({
    store: await a.openAnotherStore(),
    migrationsDir: join(a.dir, 'migrations-b'),
    passwords: testPasswords,
    schemaRecheckMs: 3_600_000,
    bus: createInProcessBus(),
  })
  const app: FastifyInstance = await buildServer(engine, {})
  return {
    engine,
    call: (options: InjectOptions) =>
      app.inject({ ...options, headers: { authorization: `Bearer ${a.token}` } }),
    async close() {
      await app.close()
      await engine.close()
    },
  }
}

describe.runIf(await isPostgresAvailable())('prepared statements on PostgreSQL', () => {
  let a: TestEngine
  let b: Awaited<ReturnType<typeof openSecondNode>>
  let statements: string[] = []
  let id: string
  beforeAll(async () => {
    a = await createTestEngine('postgres')
    await createCollection(a, { name: 'notes', fields: [{ name: 'text', type: 'text' }] })
    id = (await createRecord(a, 'notes', { text: 'first' })).id as string
    // Only B's own recovery can help it.
    b = await openSecondNode(a)
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  const preparedOnB = async () => {
    const db = (b.engine.store as unknown as { db: DynamicDb }).db
    const { rows } = await sql<{
      statement: string
    }>`select statement from pg_prepared_statements`.execute(db)
    return rows.map((row) => row.statement)
  }

  it('prepares the statements it repeats on each connection', async () => {
    // Concurrent requests, so that every connection of B's pool (2) runs the read.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          b.call({ method: 'GET', url: `/api/collections/notes/records/${id}` }),
        ),
      )
      for (const res of answers) expect(res.statusCode, res.body).toBe(200)
    }
    statements = await preparedOnB()
    expect(statements.some((text) => /select \* from "notes" where "id" = \$1/.test(text))).toBe(
      true,
    )
  })

  it('answers reads and writes after another node added and dropped a column, never a 500', async () => {
    // Every connection of B has the read prepared (its pool holds 2).
    await Promise.all(
      Array.from({ length: 6 }, () =>
        b.call({ method: 'GET', url: `/api/collections/notes/records/${id}` }),
      ),
    )
    const fields = [{ name: 'text', type: 'text' }]
    const patch = (list: unknown[]) =>
      a.call({ method: 'PATCH', url: '/api/collections/notes', payload: { fields: list } })
    expect((await patch([...fields, { name: 'extra', type: 'text' }])).statusCode).toBe(200)
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        b.call({ method: 'GET', url: `/api/collections/notes/records/${id}` }),
      ),
    )
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ id, text: 'first', extra: null })
    }
    const created = await b.call({
      method: 'POST',
      url: '/api/collections/notes/records',
      payload: { text: 'second', extra: 'yes' },
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ text: 'second', extra: 'yes' })
    expect((await patch(fields)).statusCode).toBe(200)
    const listed = await b.call({ method: 'GET', url: '/api/collections/notes/records?sort=id' })
    expect(listed.statusCode, listed.body).toBe(200)
    expect((listed.json() as { items: object[] }).items[0]).not.toHaveProperty('extra')
    // And B prepares again on the connections it has now.
    const again = await b.call({ method: 'GET', url: `/api/collections/notes/records/${id}` })
    expect(again.statusCode).toBe(200)
    expect((await preparedOnB()).length).toBeGreaterThan(0)
  })
})
