/**
 * The databases every shared suite runs on. SQLite always; PostgreSQL when reachable at
 * `ER_TEST_POSTGRES_URL` (default the local trust-auth server). CI sets `ER_REQUIRE_POSTGRES=1`
 * so that an unreachable PostgreSQL fails the run instead of skipping it.
 */
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, PostgresDialect, sql } from 'kysely'
import type { DynamicDb } from '../../src/adapters/store/dynamic-db.js'
import pg from 'pg'

export type DialectName = 'sqlite' | 'postgres'

export const postgresUrl =
  process.env.ER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let postgresReachable: Promise<boolean> | undefined

/** Whether PostgreSQL answers; throws when it must (ER_REQUIRE_POSTGRES=1) and does not. */
export async function isPostgresAvailable(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query('select 1')
      return true
    } catch (error) {
      if (process.env.ER_REQUIRE_POSTGRES === '1') {
        throw new Error(
          `PostgreSQL is required (ER_REQUIRE_POSTGRES=1) but ${postgresUrl} did not answer: ${String(error)}`,
        )
      }
      console.warn(`[engineroom tests] SKIPPING PostgreSQL suites: ${postgresUrl} is unreachable.`)
      return false
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return postgresReachable
}

/** The dialects to run on in this environment. */
export async function availableDialects(): Promise<DialectName[]> {
  return (await isPostgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite']
}

/** A fresh, empty PostgreSQL schema with a URL whose connections use it; `drop()` removes it. */
export async function createPostgresSchema(): Promise<{
  url: string
  schema: string
  drop(): Promise<void>
}> {
  const schema = `er_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`create schema "${schema}"`)
  await admin.end()
  const url = new URL(postgresUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      await client.query(`drop schema if exists "${schema}" cascade`)
      await client.end()
    },
  }
}

/** A bare Kysely on an empty database of the dialect, for tests below the store port. */
export async function createRawDatabase(
  dialect: DialectName,
): Promise<{ db: DynamicDb; destroy(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const db: DynamicDb = new Kysely({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
    })
    return { db, destroy: () => db.destroy() }
  }
  const pgSchema = await createPostgresSchema()
  const db: DynamicDb = new Kysely({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pgSchema.url, max: 4 }) }),
  })
  await sql`select 1`.execute(db)
  return {
    db,
    async destroy() {
      await db.destroy()
      await pgSchema.drop()
    },
  }
}
