/**
 * A statement built from a definition another node has since changed fails in the driver; the
 * dialect error translation turns that, and only that, into ER_SCHEMA_CHANGED (a retry on a
 * reloaded schema), never an unknown error (a 500). Real driver errors from both databases.
 */
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineError } from '../../core/errors/index.js'
import { isPostgresAvailable, postgresUrl } from '../../../test/helpers/dialects.js'
import { translatePostgresError } from './postgres/postgres-errors.js'
import { translateSqliteError } from './sqlite/sqlite-errors.js'

const codeOf = (error: Error | undefined) => (error instanceof EngineError ? error.code : undefined)

describe('SQLite: stale definitions', () => {
  const db = new Database(':memory:')
  db.exec('create table posts (id text primary key, title text)')
  const failure = (statement: string): unknown => {
    try {
      db.prepare(statement).run()
    } catch (error) {
      return error
    }
    throw new Error(`${statement} did not fail`)
  }

  it.each([
    'select gone from posts',
    'select * from dropped',
    "insert into posts (id, gone) values ('a', 1)",
    "update posts set gone = 1 where id = 'a'",
  ])('%s is ER_SCHEMA_CHANGED', (statement) => {
    const translated = translateSqliteError(failure(statement), undefined)
    expect(codeOf(translated)).toBe('ER_SCHEMA_CHANGED')
    expect(translated?.message).toMatch(/changed while the request ran/)
  })

  it('leaves other errors alone', () => {
    expect(translateSqliteError(failure('selec 1'), undefined)).toBeUndefined()
    expect(
      codeOf(
        translateSqliteError(failure("insert into posts values ('a', 'x'), ('a', 'y')"), undefined),
      ),
    ).toBe('ER_RECORD_CONFLICT')
  })
})

const postgres = await isPostgresAvailable()

describe.skipIf(!postgres)('PostgreSQL: stale definitions', () => {
  const client = new pg.Client({ connectionString: postgresUrl })
  beforeAll(() => client.connect())
  afterAll(() => client.end())
  const failure = async (statement: string): Promise<unknown> => {
    try {
      await client.query(statement)
    } catch (error) {
      return error
    }
    throw new Error(`${statement} did not fail`)
  }

  it.each([
    ['undefined_column (42703)', 'select er_gone_column from pg_class'],
    ['undefined_table (42P01)', 'select * from er_dropped_table_for_test'],
  ])('%s is ER_SCHEMA_CHANGED', async (_, statement) => {
    expect(codeOf(translatePostgresError(await failure(statement), undefined))).toBe(
      'ER_SCHEMA_CHANGED',
    )
  })

  it('leaves other errors alone', async () => {
    expect(translatePostgresError(await failure('selec 1'), undefined)).toBeUndefined()
  })
})
