import { sql } from 'kysely'
import type { TableShape } from '../introspect.js'
import type { DynamicDb } from '../dynamic-db.js'

/** The user-visible shape of the current schema: tables, their columns in order, and indexes. */
export async function introspectPostgres(db: DynamicDb): Promise<TableShape[]> {
  const tables = await sql<{
    name: string
  }>`select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name collate "C"`.execute(
    db,
  )
  const out: TableShape[] = []
  for (const { name } of tables.rows) {
    const columns = await sql<{
      name: string
    }>`select column_name as name from information_schema.columns
      where table_schema = current_schema() and table_name = ${name} order by ordinal_position`.execute(
      db,
    )
    // Only indexes created as such (not those behind primary key or unique constraints).
    const indexes = await sql<{
      name: string
      unique: boolean
    }>`select i.relname as name, x.indisunique as unique
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema() and t.relname = ${name}
        and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
      order by i.relname collate "C"`.execute(db)
    out.push({
      name,
      columns: columns.rows.map((c) => c.name),
      indexes: indexes.rows.map((i) => `${i.name}${i.unique ? ' unique' : ''}`),
    })
  }
  return out
}
