import type Database from 'better-sqlite3'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

/**
 * Hands Kysely a database whose `prepare` reuses compiled statements. Kysely prepares every
 * query afresh, and SQLite's compile step costs more than running a lookup by primary key; the
 * engine issues a small set of query shapes (values are always bound), so a bounded cache keyed
 * by SQL text catches nearly all of them. SQLite re-prepares a cached statement by itself when
 * the schema changes underneath it.
 */
export function withStatementCache(database: Database.Database, capacity = 1000): SqliteDatabase {
  const cache = new Map<string, Database.Statement>()
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql)
      if (statement) {
        // Refresh its place: the map's order is the eviction order.
        cache.delete(sql)
      } else {
        statement = database.prepare(sql)
        if (cache.size >= capacity) cache.delete(cache.keys().next().value as string)
      }
      cache.set(sql, statement)
      return statement as unknown as SqliteStatement
    },
  }
}
