import type { AuditRow, AuditStore, Row } from './store.js'
import type { DynamicDb } from './dynamic-db.js'

/** `_audit` on either dialect. */
export class KyselyAuditStore implements AuditStore {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async last(): Promise<AuditRow | undefined> {
    const row = await this.#db
      .selectFrom('_audit')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? toAuditRow(row) : undefined
  }

  async insert(row: AuditRow): Promise<void> {
    await this.#db
      .insertInto('_audit')
      .values({
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        detail: row.detail,
        prev_hash: row.prevHash,
        hash: row.hash,
      })
      .execute()
  }

  async page(afterSeq: number, limit: number): Promise<AuditRow[]> {
    const rows = await this.#db
      .selectFrom('_audit')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute()
    return rows.map(toAuditRow)
  }

  async lastBefore(at: string): Promise<AuditRow | undefined> {
    const row = await this.#db
      .selectFrom('_audit')
      .selectAll()
      .where('at', '<', at)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? toAuditRow(row) : undefined
  }

  async lastOfAction(action: string): Promise<AuditRow | undefined> {
    const row = await this.#db
      .selectFrom('_audit')
      .selectAll()
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row ? toAuditRow(row) : undefined
  }

  async deleteThrough(seq: number): Promise<number> {
    const result = await this.#db.deleteFrom('_audit').where('seq', '<=', seq).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function toAuditRow(row: Row): AuditRow {
  return {
    seq: Number(row.seq),
    at: String(row.at),
    actor: String(row.actor),
    action: String(row.action),
    target: String(row.target),
    detail: String(row.detail),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  }
}
