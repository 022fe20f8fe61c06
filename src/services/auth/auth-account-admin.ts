import { EngineError, invalidField } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Store } from '../../adapters/store/store.js'
import { appendAudit } from '../audit/audit-log.js'
import type { RequestContext } from '../context.js'
import type { SessionView } from './auth-sessions.js'

const MAX_SESSIONS_LISTED = 200

export interface AccountAdminDeps {
  store: Store
  clock: { now(): Date }
  authCollection(name: string): Promise<CollectionDef>
}

/**
 * What a superuser does to another account from the dashboard's Users screen: list and revoke
 * its sessions, read and reset its two-factor sign-in. Signed in as a superuser, never through
 * an API key (a key can never manage sessions or keys, its owner's or anyone's). Revoking and
 * resetting are written to the audit log in the same transaction as the change itself.
 *
 * @example
 *   await admin.resetMfa(ctx, 'users', id)   // audit: auth.mfa.reset users/<id>
 */
export function createAccountAdmin(deps: AccountAdminDeps) {
  const { store, clock } = deps

  async function target(ctx: RequestContext, name: string, recordId: unknown) {
    if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser.')
    if (ctx.auth.apiKey) {
      throw new EngineError('ER_FORBIDDEN', 'An API key cannot manage sessions or sign-in.')
    }
    if (!ctx.auth.isSuperuser) {
      throw new EngineError('ER_FORBIDDEN', 'Only superusers manage the accounts of others.')
    }
    if (typeof recordId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(recordId)) {
      throw invalidField('record', 'type', 'must be a record id')
    }
    const collection = await deps.authCollection(name)
    const [row] = await store.selectByIds(collection, [recordId])
    if (!row) {
      throw new EngineError(
        'ER_RECORD_NOT_FOUND',
        `No record "${recordId}" in "${collection.name}".`,
      )
    }
    return { collection, recordId, subject: `${collection.name}/${recordId}` }
  }

  return {
    /** `GET /auth/sessions?record=<id>`: that record's live sessions, newest first. */
    async listSessions(
      ctx: RequestContext,
      name: string,
      recordId: unknown,
    ): Promise<{ items: SessionView[] }> {
      const { collection, recordId: id } = await target(ctx, name, recordId)
      const now = clock.now().toISOString()
      const rows = await store.auth.listSessions(collection.id, id, MAX_SESSIONS_LISTED)
      const items = rows
        .filter((s) => s.revoked === null && s.expires > now)
        .map((s) => ({
          id: s.id,
          created: s.created,
          lastUsed: s.lastUsed,
          expires: s.expires,
          userAgent: s.userAgent,
          ip: s.ip,
          current: s.id === ctx.auth?.sessionId,
        }))
      return { items }
    },

    /**
     * `DELETE /auth/sessions/{id}?record=<id>` (one) and `DELETE /auth/sessions?record=<id>`
     * (all): the record's refresh tokens stop working at once, its access tokens within the
     * caller cache's recheck interval.
     */
    async revokeSessions(
      ctx: RequestContext,
      name: string,
      recordId: unknown,
      sessionId?: string,
    ): Promise<{ revoked: number }> {
      const { collection, recordId: id, subject } = await target(ctx, name, recordId)
      return store.transaction(async (tx) => {
        if (sessionId !== undefined) {
          const session = await tx.auth.getSession(sessionId)
          if (!session || session.collectionId !== collection.id || session.recordId !== id) {
            throw new EngineError('ER_RECORD_NOT_FOUND', `No session "${sessionId}".`)
          }
        }
        const at = clock.now().toISOString()
        const revoked = await tx.auth.revokeSessions(
          sessionId !== undefined
            ? { id: sessionId }
            : { collectionId: collection.id, recordId: id },
          at,
        )
        await appendAudit(
          tx,
          ctx,
          {
            action: 'auth.sessions.revoke',
            target: subject,
            detail: { revoked: revoked.length, ...(sessionId !== undefined ? { sessionId } : {}) },
          },
          clock,
        )
        return { revoked: revoked.length }
      })
    },

    /** `GET /auth/mfa?record=<id>`: whether that record has TOTP on. */
    async mfaStatus(ctx: RequestContext, name: string, recordId: unknown) {
      const { collection, recordId: id } = await target(ctx, name, recordId)
      const mfa = await store.auth.getMfa(collection.id, id)
      return {
        enabled: Boolean(mfa?.enabled),
        recoveryCodesLeft: mfa?.enabled ? mfa.recovery.length : 0,
      }
    },

    /**
     * `POST /auth/mfa/reset` `{ record }`: turns the record's TOTP off and drops its recovery
     * codes, for someone who lost their authenticator; they sign in with the password alone and
     * may enrol again.
     */
    async resetMfa(ctx: RequestContext, name: string, recordId: unknown): Promise<void> {
      const { collection, recordId: id, subject } = await target(ctx, name, recordId)
      await store.transaction(async (tx) => {
        const mfa = await tx.auth.getMfa(collection.id, id)
        if (!mfa)
          throw new EngineError('ER_RECORD_NOT_FOUND', `${subject} has no two-factor sign-in.`)
        await tx.auth.deleteMfa(collection.id, id)
        await appendAudit(
          tx,
          ctx,
          {
            action: 'auth.mfa.reset',
            target: subject,
            detail: { wasEnabled: Boolean(mfa.enabled) },
          },
          clock,
        )
      })
    },
  }
}

export type AccountAdmin = ReturnType<typeof createAccountAdmin>
