import type { PostgresPool, PostgresPoolClient } from 'kysely'
import pg from 'pg'

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
   * `repeatable`: if the connection turns out dead, a `select` runs once more on another (any
   * other statement never does: its reply may have been lost after it committed). A pooled
   * connection the server ended while it sat idle is only known dead when its next statement
   * fails, as every idle one does after a database restart.
   */
  query(
    text: string,
    values: readonly unknown[],
    options?: { repeatable?: boolean },
  ): Promise<pg.QueryResult<Record<string, unknown>>>
}

interface PoolEntry {
  client: PostgresPoolClient
  /** The schema generation the connection was opened in. */
  generation: number
  broken: boolean
}

/**
 * A statement's own error (a constraint, a type, a lock or statement timeout) leaves the session
 * usable. These leave none to reuse: a failure that is not the server's answer (the socket
 * broke), a connection exception (class 08), an operator intervention that ends the session
 * (57P01-57P05: a restart, `pg_terminate_backend`) or an idle-in-transaction timeout (25P03).
 * Such a connection could otherwise go back to the pool and fail the next request too. Judged by
 * code, not by `severity`: the server translates that word into its configured language.
 */
function isBroken(failure: Error | null): boolean {
  if (failure === null) return false
  // Not the server's answer: the socket closed or failed (ECONNRESET, EPIPE, "terminated").
  if (!(failure instanceof pg.DatabaseError)) return true
  const code = failure.code ?? ''
  return code === '' || code.startsWith('08') || code.startsWith('57P') || code === '25P03'
}

/**
 * A statement that only reads: the one kind that may run again when its connection dies under
 * it. A write whose reply was lost may have committed; running it again would apply it twice
 * (an `insert ... returning` reads rows back but is a write, and a `with` may hide one). The one
 * `select` that writes, `_outbox_number_pending()` (outbox-sql.ts), is safe to run twice: a
 * second run finds nothing left to number. A new `select f()` that writes must be too.
 */
const READ_ONLY = /^\s*select\s/i

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
  const wrapped = new WeakMap<pg.PoolClient, PoolEntry>()

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

  /**
   * Runs one statement on `client`, named when `name` is given, in pg's callback form. pg's own
   * promise (`client.query` without a callback) answers the same, but kept each result reachable
   * for longer: under load its rows outlived two young-generation collections and were promoted,
   * so scavenges took 3-6 ms instead of about 1.5 and a list spent about a fifth of its CPU in
   * them (`--trace-gc-nvp` on bench/postgres.js, the only change being this form; bench/README.md).
   * A DDL statement, or a prepared plan the table's new shape broke, starts a new generation.
   */
  function send(
    client: pg.PoolClient,
    text: string,
    values: readonly unknown[] | undefined,
    name: string | undefined,
    callback: (failure: Error | null, result?: pg.QueryResult) => void,
  ): void {
    const config: pg.QueryConfig = { text, values: values as unknown[] | undefined }
    if (name) config.name = name
    const done = (failure: Error | null, result?: pg.QueryResult) => {
      if (failure) {
        // feature_not_supported: "cached plan must not change result type".
        if ((failure as { code?: string }).code === '0A000' && name) forget()
      } else if (DDL.test(text)) forget()
      callback(failure, result)
    }
    try {
      client.query(config, done)
    } catch (failure) {
      done(failure as Error)
    }
  }

  function wrap(client: pg.PoolClient): PoolEntry {
    const entry = {
      generation,
      client: undefined as unknown as PostgresPoolClient,
      /** The session ended under a statement: the connection must not go back to the pool. */
      broken: false,
    }
    const run = (text: string, values: unknown[] | undefined) =>
      new Promise<pg.QueryResult>((resolve, reject) => {
        // Names belong to the generation the connection was opened in (see `connect`).
        const name = values?.length && entry.generation === generation ? nameOf(text) : undefined
        send(client, text, values, name, (failure, result) => {
          if (failure) {
            if (isBroken(failure)) entry.broken = true
            reject(failure)
          } else resolve(result as pg.QueryResult)
        })
      })
    entry.client = {
      query: ((text: unknown, values?: unknown[]) =>
        typeof text === 'string'
          ? run(text, values)
          : client.query(text as pg.Submittable)) as unknown as PostgresPoolClient['query'],
      // A connection from before the latest schema change, or a broken one, is closed rather
      // than reused.
      release: () => client.release(entry.broken || entry.generation !== generation),
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

  /** One statement on a pooled connection, released before the promise settles (as pg.Pool#query). */
  const query = (text: string, values: readonly unknown[], options?: { repeatable?: boolean }) =>
    new Promise<pg.QueryResult<Record<string, unknown>>>((resolve, reject) => {
      let repeats = options?.repeatable && READ_ONLY.test(text) ? 1 : 0
      const onClient = (error: Error | undefined, client: pg.PoolClient | undefined) => {
        if (error || !client) return reject(error ?? new Error('no connection from the pool'))
        let entry = wrapped.get(client)
        if (!entry) wrapped.set(client, (entry = wrap(client)))
        // A connection from before the latest schema change is closed, and another taken.
        if (entry.generation !== generation) {
          client.release(true)
          return pool.connect(onClient)
        }
        const opened = entry
        const name = values.length > 0 ? nameOf(text) : undefined
        send(client, text, values, name, (failure, result) => {
          const broken = isBroken(failure)
          client.release(broken || opened.generation !== generation)
          if (broken && repeats-- > 0) return pool.connect(onClient)
          if (failure) reject(failure)
          else resolve(result as pg.QueryResult<Record<string, unknown>>)
        })
      }
      pool.connect(onClient)
    })

  return {
    forget,
    connect,
    query,
    end: () => pool.end(),
  }
}
