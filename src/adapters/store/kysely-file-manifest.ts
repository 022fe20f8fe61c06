import { sql } from 'kysely'
import type { DynamicDb } from './dynamic-db.js'
import { fixedSql } from './fixed-sql.js'
import type { ReadRows } from './kysely-store.js'
import type { Dialect, FileManifest, FileRow } from './store.js'

type DbRow = Record<string, unknown>

const toFile = (r: DbRow): FileRow => ({
  collectionId: r.collection_id as string,
  recordId: r.record_id as string,
  name: r.name as string,
  fieldId: r.field_id as string,
  // PostgreSQL returns bigint as text.
  size: Number(r.size),
  mime: r.mime as string,
  sha256: r.sha256 as string,
  created: r.created as string,
  deleted: (r.deleted as string | null) ?? null,
})

/** `_files` on Kysely; the SQL is the same on SQLite and PostgreSQL. */
export class KyselyFileManifest implements FileManifest {
  readonly #db: DynamicDb
  readonly #dialect: Dialect
  readonly #read: ReadRows

  /** `read` runs a compiled read the way the store does now (its direct path, its transaction). */
  constructor(db: DynamicDb, dialect: Dialect, read: ReadRows) {
    this.#db = db
    this.#dialect = dialect
    this.#read = read
  }

  async insertFiles(rows: readonly FileRow[]): Promise<void> {
    if (rows.length === 0) return
    await this.#db
      .insertInto('_files')
      .values(
        rows.map((r) => ({
          collection_id: r.collectionId,
          record_id: r.recordId,
          name: r.name,
          field_id: r.fieldId,
          size: r.size,
          mime: r.mime,
          sha256: r.sha256,
          created: r.created,
          deleted: r.deleted,
        })),
      )
      .execute()
  }

  async getFile(collectionId: string, recordId: string, name: string) {
    // Every file download asks this: its text is compiled once, not built per request.
    const text = fixedSql(
      this.#db,
      this.#dialect,
      'get-file',
      () =>
        sql`select * from ${sql.table('_files')} where ${sql.ref('collection_id')} = ${''}
        and ${sql.ref('record_id')} = ${''} and ${sql.ref('name')} = ${''}
        and ${sql.ref('deleted')} is null`,
    )
    const [row] = await this.#read(text, [collectionId, recordId, name])
    return row ? toFile(row) : undefined
  }

  async listRecordFiles(collectionId: string, recordId: string) {
    const rows = await this.#db
      .selectFrom('_files')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('deleted', 'is', null)
      .orderBy('created')
      .orderBy('name')
      .execute()
    return rows.map(toFile)
  }

  async markDeleted(collectionId: string, recordId: string, at: string, names?: readonly string[]) {
    if (names && names.length === 0) return 0
    let query = this.#db
      .updateTable('_files')
      .set({ deleted: at })
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('deleted', 'is', null)
    if (names) query = query.where('name', 'in', [...names])
    const result = await query.executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  async markDetached(keep: ReadonlyMap<string, ReadonlySet<string>>, at: string) {
    // Few distinct (collection, field) pairs exist, so they are read first and the stale ones
    // marked one pair at a time, by index-free but bounded statements.
    const pairs = await this.#db
      .selectFrom('_files')
      .select(['collection_id', 'field_id'])
      .where('deleted', 'is', null)
      .distinct()
      .execute()
    let marked = 0
    for (const pair of pairs) {
      const fields = keep.get(pair.collection_id as string)
      if (fields?.has(pair.field_id as string)) continue
      const result = await this.#db
        .updateTable('_files')
        .set({ deleted: at })
        .where('collection_id', '=', pair.collection_id)
        .where('field_id', '=', pair.field_id)
        .where('deleted', 'is', null)
        .executeTakeFirst()
      marked += Number(result.numUpdatedRows)
    }
    return marked
  }

  async pendingDeletions(limit: number) {
    const rows = await this.#db
      .selectFrom('_files')
      .selectAll()
      .where('deleted', 'is not', null)
      .orderBy('deleted')
      .limit(limit)
      .execute()
    return rows.map(toFile)
  }

  async forgetDeleted(collectionId: string, recordId: string, name: string) {
    await this.#db
      .deleteFrom('_files')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('name', '=', name)
      .where('deleted', 'is not', null)
      .execute()
  }

  async knownNames(collectionId: string, recordId: string, names: readonly string[]) {
    if (names.length === 0) return new Set<string>()
    const rows = await this.#db
      .selectFrom('_files')
      .select('name')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('name', 'in', [...names])
      .execute()
    return new Set(rows.map((r) => r.name as string))
  }
}
