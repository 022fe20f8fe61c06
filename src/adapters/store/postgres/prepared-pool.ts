import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'

/** Distinct statement texts named per schema generation; past it, statements run unnamed. */
const MAX_NAMED_STATEMENTS = 500

/** A statement that defines or changes tables: what a prepared statement may describe. */
const DDL = /^\s*(create|alter|drop|comment)\s/i

export interface PreparingPool extends PostgresPool {
  /**
   * The tables may have changed shape (a schema change here or on another node): connections
   * that prepared statements against the old shape are closed when next returned to the pool.
   */
  forget(): void
  /**
   * Runs one statement on a pooled connection and returns it: what Kysely's executor does for a
   * statement outside a transaction, without its plugin, transform and connection-provider
   * layers (on a get by id they cost more than the statement's own work in this process).
   */
  query(text: string, values: readonly unknown[]): Promise<pg.QueryResult<Record<string, unknown>>>
}

/**
 * `pool` as Kysely uses it, with every statement that has parameters run as a named prepared
 * statement: each connection parses and plans a text once and then only binds values (pg keeps
 * which names a connection has prepared). Names are given per statement text, and only up to
 * MAX_NAMED_STATEMENTS texts: the engine's statements repeat (their texts are kept per
 * collection version), an unbounded variety would only fill the server's memory.
 *
 * A prepared `select *` fails once its table gains or loses a column ("cached plan must not
 * change result type"). So a schema change starts a new generation: DDL through this pool and
 * `forget()` (the catalogue was read again) retire every connection that prepared statements
 * before it, and the error itself, from a change made by another node, does the same (the store
 * reports it as ER_SCHEMA_CHANGED, which the records service retries on a fresh schema).
 */
export function preparingPool(pool: pg.Pool): PreparingPool {
  let generation = 0
  let names = new Map<string, string>()
  const wrapped = new WeakMap<pg.PoolClient, { client: PostgresPoolClient; generation: number }>()

  const forget = () => {
    generation++
    names = new Map()
  }

  const nameOf = (text: string): string | undefined => {
    let name = names.get(text)
    if (name === undefined && names.size < MAX_NAMED_STATEMENTS) {
      name = `er${generation}_${names.size}`
      names.set(text, name)
    }
    return name
  }

  function wrap(client: pg.PoolClient): { client: PostgresPoolClient; generation: number } {
    const entry = { generation, client: undefined as unknown as PostgresPoolClient }
    const run = async (text: string, values: unknown[] | undefined) => {
      // Names belong to the generation the connection was opened in (see `connect`).
      const name = values?.length && entry.generation === generation ? nameOf(text) : undefined
      try {
        const result = name
          ? await client.query({ name, text, values })
          : await client.query(text, values)
        if (DDL.test(text)) forget()
        return result
      } catch (error) {
        // feature_not_supported: "cached plan must not change result type".
        if ((error as { code?: string }).code === '0A000' && name) forget()
        throw error
      }
    }
    entry.client = {
      query: ((text: unknown, values?: unknown[]) =>
        typeof text === 'string'
          ? run(text, values)
          : client.query(text as pg.Submittable)) as unknown as PostgresPoolClient['query'],
      // A connection from before the latest schema change is closed rather than reused.
      release: () => client.release(entry.generation !== generation),
    }
    return entry
  }

  const connect = async (): Promise<PostgresPoolClient> => {
    for (;;) {
      const client = await pool.connect()
      let entry = wrapped.get(client)
      if (!entry) wrapped.set(client, (entry = wrap(client)))
      if (entry.generation === generation) return entry.client
      client.release(true)
    }
  }

  return {
    forget,
    connect,
    async query(text, values) {
      const client = await connect()
      try {
        return (await client.query(text, values as unknown[])) as unknown as pg.QueryResult<
          Record<string, unknown>
        >
      } finally {
        client.release()
      }
    },
    end: () => pool.end(),
  }
}
