import { sql } from 'kysely'
import type { TableShape } from '../introspect.js'
import type { DynamicDb } from '../dynamic-db.js'

/** The user-visible shape of the database: tables, their columns in order, and indexes. */
export async function introspectSqlite(db: DynamicDb): Promise<TableShape[]> {
  const tables = await sql<{ name: string }>`select name from sqlite_master
    where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)
  const out: TableShape[] = []
  for (const { name } of tables.rows) {
    const columns = await sql<{
      name: string
      type: string
    }>`select name, type from pragma_table_info(${name}) order by cid`.execute(db)
    const indexes = await sql<{
      name: string
      unique: number
    }>`select name, "unique" from pragma_index_list(${name})
      where origin = 'c' order by name`.execute(db)
    out.push({
      name,
      columns: columns.rows.map((c) => c.name),
      indexes: indexes.rows.map((i) => `${i.name}${i.unique ? ' unique' : ''}`),
    })
  }
  return out
}
