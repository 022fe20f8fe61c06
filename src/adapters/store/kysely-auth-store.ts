import { sql, type ExpressionBuilder } from 'kysely'
import type { DynamicDb } from './dynamic-db.js'
import type {
  ApiKeyRow,
  ApiKeyScope,
  AuthStore,
  MfaRow,
  OAuthLinkRow,
  OAuthStateRow,
  OneTimeTokenRow,
  RefreshTokenRow,
  SessionRow,
  ThrottleRow,
} from './store.js'

type DbRow = Record<string, unknown>

export const toSession = (r: DbRow): SessionRow => ({
  id: r.id as string,
  collectionId: r.collection_id as string,
  recordId: r.record_id as string,
  tokenKey: r.token_key as string,
  created: r.created as string,
  lastUsed: r.last_used as string,
  expires: r.expires as string,
  revoked: (r.revoked as string | null) ?? null,
  userAgent: r.user_agent as string,
  ip: r.ip as string,
})

const toOneTime = (r: DbRow): OneTimeTokenRow => ({
  hash: r.hash as string,
  purpose: r.purpose as string,
  collectionId: r.collection_id as string,
  recordId: r.record_id as string,
  email: r.email as string,
  expires: r.expires as string,
  used: (r.used as string | null) ?? null,
})

const toApiKey = (r: DbRow): ApiKeyRow => ({
  id: r.id as string,
  hash: r.hash as string,
  collectionId: r.collection_id as string,
  recordId: r.record_id as string,
  name: r.name as string,
  scopes: JSON.parse(r.scopes as string) as ApiKeyScope[],
  created: r.created as string,
  expires: r.expires as string,
  revoked: (r.revoked as string | null) ?? null,
})

/** The `_auth_*` tables on Kysely; the SQL is the same on SQLite and PostgreSQL. */
export class KyselyAuthStore implements AuthStore {
  readonly #db: DynamicDb
  readonly #sessionsRevoked: () => void

  /** `sessionsRevoked` is told after sessions were revoked (caller caches drop them). */
  constructor(db: DynamicDb, sessionsRevoked: () => void = () => {}) {
    this.#db = db
    this.#sessionsRevoked = sessionsRevoked
  }

  async insertSession(row: SessionRow): Promise<void> {
    await this.#db
      .insertInto('_auth_sessions')
      .values({
        id: row.id,
        collection_id: row.collectionId,
        record_id: row.recordId,
        token_key: row.tokenKey,
        created: row.created,
        last_used: row.lastUsed,
        expires: row.expires,
        revoked: row.revoked,
        user_agent: row.userAgent,
        ip: row.ip,
      })
      .execute()
  }

  async getSession(id: string): Promise<SessionRow | undefined> {
    const row = await this.#db
      .selectFrom('_auth_sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toSession(row) : undefined
  }

  async listSessions(collectionId: string, recordId: string, limit: number): Promise<SessionRow[]> {
    const rows = await this.#db
      .selectFrom('_auth_sessions')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .orderBy('created', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows.map(toSession)
  }

  async touchSession(id: string, lastUsed: string): Promise<void> {
    await this.#db
      .updateTable('_auth_sessions')
      .set({ last_used: lastUsed })
      .where('id', '=', id)
      .execute()
  }

  async revokeSessions(
    target: { id: string } | { collectionId: string; recordId: string },
    at: string,
  ): Promise<string[]> {
    let query = this.#db
      .updateTable('_auth_sessions')
      .set({ revoked: at })
      .where('revoked', 'is', null)
    query =
      'id' in target
        ? query.where('id', '=', target.id)
        : query
            .where('collection_id', '=', target.collectionId)
            .where('record_id', '=', target.recordId)
    const rows = await query.returning('id').execute()
    if (rows.length > 0) this.#sessionsRevoked()
    return rows.map((r) => r.id as string)
  }

  async purgeExpired(cutoff: { now: string; revokedBefore: string; quietBefore: string }) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const ended = (eb: ExpressionBuilder<any, '_auth_sessions'>) =>
      eb.or([
        eb('expires', '<', cutoff.now),
        eb.and([eb('revoked', 'is not', null), eb('revoked', '<', cutoff.revokedBefore)]),
      ])
    // Refresh tokens first: they are found through the sessions about to go.
    const refreshTokens = await this.#db
      .deleteFrom('_auth_refresh_tokens')
      .where('session_id', 'in', this.#db.selectFrom('_auth_sessions').select('id').where(ended))
      .executeTakeFirst()
    const sessions = await this.#db.deleteFrom('_auth_sessions').where(ended).executeTakeFirst()
    const oneTimeTokens = await this.#db
      .deleteFrom('_auth_onetime_tokens')
      .where('expires', '<', cutoff.now)
      .executeTakeFirst()
    // The same counters the throttle itself forgives on the next failure (auth-throttle.ts).
    const throttle = await this.#db
      .deleteFrom('_auth_throttle')
      .where('locked_until', '<=', cutoff.now)
      .where('updated', '<', cutoff.quietBefore)
      .executeTakeFirst()
    return {
      sessions: Number(sessions.numDeletedRows),
      refreshTokens: Number(refreshTokens.numDeletedRows),
      oneTimeTokens: Number(oneTimeTokens.numDeletedRows),
      throttle: Number(throttle.numDeletedRows),
    }
  }

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    await this.#db
      .insertInto('_auth_refresh_tokens')
      .values({ hash: row.hash, session_id: row.sessionId, created: row.created, used: row.used })
      .execute()
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRow | undefined> {
    const row = await this.#db
      .selectFrom('_auth_refresh_tokens')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst()
    return row
      ? {
          hash: row.hash as string,
          sessionId: row.session_id as string,
          created: row.created as string,
          used: (row.used as string | null) ?? null,
        }
      : undefined
  }

  async markRefreshTokenUsed(hash: string, at: string): Promise<boolean> {
    // The `used is null` condition makes the check and the write one atomic step: of two
    // concurrent refreshes with the same token, exactly one changes the row.
    const result = await this.#db
      .updateTable('_auth_refresh_tokens')
      .set({ used: at })
      .where('hash', '=', hash)
      .where('used', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async getThrottle(keys: readonly string[]): Promise<ThrottleRow[]> {
    if (keys.length === 0) return []
    const rows = await this.#db
      .selectFrom('_auth_throttle')
      .selectAll()
      .where('key', 'in', [...keys])
      .execute()
    return rows.map((r) => ({
      key: r.key as string,
      failures: Number(r.failures),
      lockedUntil: r.locked_until as string,
      updated: r.updated as string,
    }))
  }

  async addThrottleFailure(key: string, at: string): Promise<number> {
    // An upsert that increments in the database and returns the count it made, in one
    // statement: concurrent attempts (on any node) each get a number of their own.
    const row = await this.#db
      .insertInto('_auth_throttle')
      .values({ key, failures: 1, locked_until: '', updated: at })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`${sql.ref('_auth_throttle.failures')} + 1`,
          updated: at,
        }),
      )
      .returning('failures')
      .executeTakeFirst()
    return Number(row?.failures ?? 1)
  }

  async setThrottleLock(key: string, lockedUntil: string): Promise<void> {
    await this.#db
      .updateTable('_auth_throttle')
      .set({ locked_until: lockedUntil })
      .where('key', '=', key)
      .execute()
  }

  async removeThrottleFailure(key: string): Promise<void> {
    await this.#db
      .updateTable('_auth_throttle')
      .set({ failures: sql`${sql.ref('failures')} - 1` })
      .where('key', '=', key)
      .where('failures', '>', 0)
      .execute()
  }

  async clearThrottle(key: string): Promise<void> {
    await this.#db.deleteFrom('_auth_throttle').where('key', '=', key).execute()
  }

  async claimThrottleSlot(key: string, now: string, until: string): Promise<boolean> {
    await this.#db
      .insertInto('_auth_throttle')
      .values({ key, failures: 0, locked_until: '', updated: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute()
    // The condition is re-checked on the locked row (PostgreSQL) or under the single writer
    // (SQLite), so two concurrent claims cannot both succeed.
    const result = await this.#db
      .updateTable('_auth_throttle')
      .set({ locked_until: until, updated: now })
      .where('key', '=', key)
      .where('locked_until', '<=', now)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async claimExpiredLock(key: string, now: string, until: string): Promise<boolean> {
    // As in claimThrottleSlot, the condition is judged on the locked row: one winner.
    const result = await this.#db
      .updateTable('_auth_throttle')
      .set({ locked_until: until })
      .where('key', '=', key)
      .where('locked_until', '<>', '')
      .where('locked_until', '<=', now)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertOneTimeToken(row: OneTimeTokenRow): Promise<void> {
    await this.#db
      .insertInto('_auth_onetime_tokens')
      .values({
        hash: row.hash,
        purpose: row.purpose,
        collection_id: row.collectionId,
        record_id: row.recordId,
        email: row.email,
        expires: row.expires,
        used: row.used,
      })
      .execute()
  }

  async consumeOneTimeToken(
    hash: string,
    purpose: string,
    now: string,
  ): Promise<OneTimeTokenRow | undefined> {
    const rows = await this.#db
      .updateTable('_auth_onetime_tokens')
      .set({ used: now })
      .where('hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used', 'is', null)
      .where('expires', '>', now)
      .returningAll()
      .execute()
    return rows[0] ? toOneTime(rows[0]) : undefined
  }

  async expireOneTimeTokens(
    collectionId: string,
    recordId: string,
    purpose: string,
    at: string,
  ): Promise<void> {
    await this.#db
      .updateTable('_auth_onetime_tokens')
      .set({ used: at })
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('purpose', '=', purpose)
      .where('used', 'is', null)
      .execute()
  }

  async findOneTimeToken(
    hash: string,
    purpose: string,
    now: string,
  ): Promise<OneTimeTokenRow | undefined> {
    const row = await this.#db
      .selectFrom('_auth_onetime_tokens')
      .selectAll()
      .where('hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used', 'is', null)
      .where('expires', '>', now)
      .executeTakeFirst()
    return row ? toOneTime(row) : undefined
  }

  async getMfa(collectionId: string, recordId: string): Promise<MfaRow | undefined> {
    const row = await this.#db
      .selectFrom('_auth_mfa')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .executeTakeFirst()
    if (!row) return undefined
    return {
      collectionId,
      recordId,
      secret: row.secret as string,
      enabled: (row.enabled as string | null) ?? null,
      recovery: JSON.parse(row.recovery as string) as string[],
      lastStep: Number(row.last_step),
    }
  }

  async putMfa(row: MfaRow): Promise<void> {
    await this.deleteMfa(row.collectionId, row.recordId)
    await this.#db
      .insertInto('_auth_mfa')
      .values({
        collection_id: row.collectionId,
        record_id: row.recordId,
        secret: row.secret,
        enabled: row.enabled,
        recovery: JSON.stringify(row.recovery),
        last_step: row.lastStep,
      })
      .execute()
  }

  async deleteMfa(collectionId: string, recordId: string): Promise<void> {
    await this.#db
      .deleteFrom('_auth_mfa')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .execute()
  }

  async advanceMfaStep(collectionId: string, recordId: string, step: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('_auth_mfa')
      .set({ last_step: step })
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('last_step', '<', step)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async useRecoveryCode(collectionId: string, recordId: string, hash: string): Promise<boolean> {
    // Read-modify-write guarded by the old value: a concurrent use of another code makes this
    // update miss, and the caller simply reports failure (the user retries).
    const current = await this.getMfa(collectionId, recordId)
    if (!current || !current.recovery.includes(hash)) return false
    const result = await this.#db
      .updateTable('_auth_mfa')
      .set({ recovery: JSON.stringify(current.recovery.filter((h) => h !== hash)) })
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('recovery', '=', JSON.stringify(current.recovery))
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertApiKey(row: ApiKeyRow): Promise<void> {
    await this.#db
      .insertInto('_api_keys')
      .values({
        id: row.id,
        hash: row.hash,
        collection_id: row.collectionId,
        record_id: row.recordId,
        name: row.name,
        scopes: JSON.stringify(row.scopes),
        created: row.created,
        expires: row.expires,
        revoked: row.revoked,
      })
      .execute()
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRow | undefined> {
    const row = await this.#db
      .selectFrom('_api_keys')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst()
    return row ? toApiKey(row) : undefined
  }

  async listApiKeys(collectionId: string, recordId: string, limit: number): Promise<ApiKeyRow[]> {
    const rows = await this.#db
      .selectFrom('_api_keys')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .orderBy('created', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute()
    return rows.map(toApiKey)
  }

  async revokeApiKey(
    id: string,
    collectionId: string,
    recordId: string,
    at: string,
  ): Promise<boolean> {
    const result = await this.#db
      .updateTable('_api_keys')
      .set({ revoked: at })
      .where('id', '=', id)
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('revoked', 'is', null)
      .executeTakeFirst()
    const revoked = Number(result.numUpdatedRows) === 1
    if (revoked) this.#sessionsRevoked()
    return revoked
  }

  async revokeRecordApiKeys(collectionId: string, recordId: string, at: string): Promise<number> {
    const result = await this.#db
      .updateTable('_api_keys')
      .set({ revoked: at })
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .where('revoked', 'is', null)
      .executeTakeFirst()
    const revoked = Number(result.numUpdatedRows)
    // A node that remembers a key's caller forgets it at once (see caller-cache.ts).
    if (revoked > 0) this.#sessionsRevoked()
    return revoked
  }

  async insertOAuthState(row: OAuthStateRow, now: string): Promise<void> {
    // Abandoned flows would otherwise pile up; this keeps the table at ten minutes of traffic.
    await this.#db.deleteFrom('_auth_oauth_states').where('expires', '<=', now).execute()
    await this.#db
      .insertInto('_auth_oauth_states')
      .values({
        hash: row.hash,
        collection_id: row.collectionId,
        provider: row.provider,
        verifier: row.verifier,
        nonce: row.nonce,
        binder_hash: row.binderHash,
        redirect: row.redirect,
        expires: row.expires,
      })
      .execute()
  }

  async takeOAuthState(hash: string, now: string): Promise<OAuthStateRow | undefined> {
    // Delete-returning is one statement: two concurrent callbacks cannot both get the row.
    const [r] = await this.#db
      .deleteFrom('_auth_oauth_states')
      .where('hash', '=', hash)
      .returningAll()
      .execute()
    if (!r || (r.expires as string) <= now) return undefined
    return {
      hash: r.hash as string,
      collectionId: r.collection_id as string,
      provider: r.provider as string,
      verifier: r.verifier as string,
      nonce: r.nonce as string,
      binderHash: r.binder_hash as string,
      redirect: r.redirect as string,
      expires: r.expires as string,
    }
  }

  async findOAuthLink(
    collectionId: string,
    provider: string,
    subject: string,
  ): Promise<OAuthLinkRow | undefined> {
    const r = await this.#db
      .selectFrom('_auth_oauth_links')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('provider', '=', provider)
      .where('subject', '=', subject)
      .executeTakeFirst()
    return r
      ? {
          collectionId: r.collection_id as string,
          provider: r.provider as string,
          subject: r.subject as string,
          recordId: r.record_id as string,
          created: r.created as string,
        }
      : undefined
  }

  async forgetRecord(collectionId: string, recordId: string): Promise<number> {
    const sessions = this.#db
      .selectFrom('_auth_sessions')
      .select('id')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
    let removed = 0
    const refresh = await this.#db
      .deleteFrom('_auth_refresh_tokens')
      .where('session_id', 'in', sessions)
      .executeTakeFirst()
    removed += Number(refresh.numDeletedRows)
    for (const table of [
      '_auth_sessions',
      '_auth_onetime_tokens',
      '_auth_mfa',
      '_api_keys',
      '_auth_oauth_links',
    ]) {
      const result = await this.#db
        .deleteFrom(table)
        .where('collection_id', '=', collectionId)
        .where('record_id', '=', recordId)
        .executeTakeFirst()
      removed += Number(result.numDeletedRows)
    }
    this.#sessionsRevoked()
    return removed
  }

  async deleteOAuthLinks(collectionId: string, recordId: string): Promise<void> {
    await this.#db
      .deleteFrom('_auth_oauth_links')
      .where('collection_id', '=', collectionId)
      .where('record_id', '=', recordId)
      .execute()
  }

  async putOAuthLink(row: OAuthLinkRow): Promise<void> {
    await this.#db
      .insertInto('_auth_oauth_links')
      .values({
        collection_id: row.collectionId,
        provider: row.provider,
        subject: row.subject,
        record_id: row.recordId,
        created: row.created,
      })
      .onConflict((oc) =>
        oc
          .columns(['collection_id', 'provider', 'subject'])
          .doUpdateSet({ record_id: row.recordId, created: row.created }),
      )
      .execute()
  }
}
