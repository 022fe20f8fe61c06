import type { ConsentRow, ConsentStore, Row } from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/** `_consents` on either dialect; `granted` is stored as 1 or 0 on both. */
export class KyselyConsentStore implements ConsentStore {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async last(collectionId: string, recordId: string): Promise<ConsentRow | undefined> {
    const row = await this.#db
      .selectFrom('_consents')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? toConsentRow(row) : undefined
  }

  async insert(row: ConsentRow): Promise<void> {
    await this.#db
      .insertInto('_consents')
      .values({
        collection_id: row.collectionId,
        record_id: row.recordId,
        seq: row.seq,
        purpose: row.purpose,
        granted: row.granted ? 1 : 0,
        at: row.at,
        actor: row.actor,
        ip: row.ip,
        user_agent: row.userAgent,
      })
      .execute()
  }

  async history(collectionId: string, recordId: string, limit: number): Promise<ConsentRow[]> {
    const rows = await this.#db
      .selectFrom('_consents')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .orderBy('seq')
      .limit(limit)
      .execute()
    return rows.map(toConsentRow)
  }

  async forget(collectionId: string, recordId: string): Promise<number> {
    const result = await this.#db
      .deleteFrom('_consents')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function toConsentRow(row: Row): ConsentRow {
  return {
    collectionId: String(row.collection_id),
    recordId: String(row.record_id),
    seq: Number(row.seq),
    purpose: String(row.purpose),
    granted: Number(row.granted) === 1,
    at: String(row.at),
    actor: String(row.actor),
    ip: String(row.ip),
    userAgent: String(row.user_agent),
  }
}
