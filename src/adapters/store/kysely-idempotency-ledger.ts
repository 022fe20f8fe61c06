import type { DynamicDb } from './dynamic-db.js'
import type { IdempotencyClaim, IdempotencyLedger, IdempotencyRow, KeptResponse } from './store.js'

type DbRow = Record<string, unknown>

const toRow = (r: DbRow): IdempotencyRow => ({
  keyHash: r.key_hash as string,
  fingerprint: r.fingerprint as string,
  state: r.state as IdempotencyRow['state'],
  status: r.status === null ? null : Number(r.status),
  contentType: (r.content_type as string | null) ?? null,
  location: (r.location as string | null) ?? null,
  body: (r.body as string | null) ?? null,
  created: r.created as string,
  expires: r.expires as string,
})

/** `_idempotency` on Kysely; the SQL is the same on SQLite and PostgreSQL. */
export class KyselyIdempotencyLedger implements IdempotencyLedger {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async claim(claim: IdempotencyClaim, staleBefore: string): Promise<IdempotencyRow | null> {
    // Twice at most: a first try may find a row that has expired or was abandoned by a process
    // that died mid-request; that row is removed (only if unchanged) and the claim tried again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await this.#db
        .insertInto('_idempotency')
        .values({
          key_hash: claim.keyHash,
          fingerprint: claim.fingerprint,
          state: 'pending',
          created: claim.created,
          expires: claim.expires,
        })
        .onConflict((oc) => oc.column('key_hash').doNothing())
        .executeTakeFirst()
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return null
      const held = await this.#db
        .selectFrom('_idempotency')
        .selectAll()
        .where('key_hash', '=', claim.keyHash)
        .executeTakeFirst()
      if (!held) continue
      const row = toRow(held)
      const abandoned = row.state === 'pending' && row.created < staleBefore
      if (row.expires > claim.created && !abandoned) return row
      await this.#db
        .deleteFrom('_idempotency')
        .where('key_hash', '=', row.keyHash)
        .where('created', '=', row.created)
        .where('state', '=', row.state)
        .execute()
    }
    // Another request took the freed key between our delete and insert: it is in progress.
    const row = await this.#db
      .selectFrom('_idempotency')
      .selectAll()
      .where('key_hash', '=', claim.keyHash)
      .executeTakeFirst()
    return row
      ? toRow(row)
      : { ...claim, state: 'pending', status: null, contentType: null, location: null, body: null }
  }

  async complete(keyHash: string, created: string, response: KeptResponse): Promise<void> {
    await this.#db
      .updateTable('_idempotency')
      .set({
        state: response.state,
        status: response.status,
        content_type: response.contentType,
        location: response.location,
        body: response.body,
      })
      .where('key_hash', '=', keyHash)
      .where('created', '=', created)
      .where('state', '=', 'pending')
      .execute()
  }

  async release(keyHash: string, created: string): Promise<void> {
    await this.#db
      .deleteFrom('_idempotency')
      .where('key_hash', '=', keyHash)
      .where('created', '=', created)
      .where('state', '=', 'pending')
      .execute()
  }

  async sweep(now: string): Promise<number> {
    const result = await this.#db
      .deleteFrom('_idempotency')
      .where('expires', '<', now)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
