import { timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, SessionRow, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import { hashToken, isOpaqueToken, newOpaqueToken } from './secret-tokens.js'
import { tokenKeyFingerprint, type TokenSigner } from './token-signer.js'

/** Refresh tokens start with this, so a leaked one is recognisable in logs and scanners. */
export const REFRESH_TOKEN_PREFIX = 'err_'
const MAX_SESSIONS_LISTED = 200
const MAX_USER_AGENT_LENGTH = 256

/** Fingerprints by tokenKey, bounded: one SHA-256 per record key instead of one per request. */
const fingerprints = new Map<string, Buffer>()
const MAX_FINGERPRINTS = 10_000

/**
 * Whether a session's stored fingerprint is that of the record's current tokenKey. Both sides
 * come from the database (no caller input), and fingerprints have one fixed length, so a
 * constant-time compare of the bytes is enough.
 */
function tokenKeyMatches(tokenKey: string, stored: string): boolean {
  let expected = fingerprints.get(tokenKey)
  if (!expected) {
    if (fingerprints.size >= MAX_FINGERPRINTS) fingerprints.clear()
    expected = Buffer.from(tokenKeyFingerprint(tokenKey))
    fingerprints.set(tokenKey, expected)
  }
  const actual = Buffer.from(stored)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Where a request comes from, as the transport saw it. */
export interface ClientInfo {
  ip: string
  userAgent: string
}

export interface SessionDeps {
  store: Store
  tokens: TokenSigner
  clock: Clock
  /** Absolute lifetime of a session: refreshing never extends it past this. */
  sessionTtlSeconds: number
}

/** A session as its owner sees it: no token, no hash. */
export interface SessionView {
  id: string
  created: string
  lastUsed: string
  expires: string
  userAgent: string
  ip: string
  current: boolean
}

const refreshInvalid = () =>
  new EngineError('ER_AUTH_REFRESH_INVALID', 'The refresh token is invalid; sign in again.')

/**
 * Sessions and their rotating refresh tokens. Each refresh spends the token and issues a new one
 * in the same session (the token "family"). Presenting a spent token means two parties hold it,
 * so the whole family is revoked: RFC 9700 §4.14.2, "If a refresh token is compromised and
 * subsequently used by both the attacker and the legitimate client, one of them will present an
 * invalidated refresh token, which will inform the authorization server of the breach."
 */
export function createSessionService(deps: SessionDeps) {
  const { store, tokens, clock } = deps

  /** Starts a session for a record that has just proven who it is. */
  async function startSession(
    collection: CollectionDef,
    row: Row,
    client: ClientInfo,
  ): Promise<{ token: string; refreshToken: string }> {
    const now = clock.now()
    const session: SessionRow = {
      id: newId(now.getTime()),
      collectionId: collection.id,
      recordId: row.id as string,
      tokenKey: tokenKeyFingerprint(row.tokenKey as string),
      created: now.toISOString(),
      lastUsed: now.toISOString(),
      expires: new Date(now.getTime() + deps.sessionTtlSeconds * 1000).toISOString(),
      revoked: null,
      userAgent: client.userAgent.slice(0, MAX_USER_AGENT_LENGTH),
      ip: client.ip,
    }
    const refreshToken = newOpaqueToken(REFRESH_TOKEN_PREFIX)
    await store.transaction(async (tx) => {
      await tx.auth.insertSession(session)
      await tx.auth.insertRefreshToken({
        hash: hashToken(refreshToken),
        sessionId: session.id,
        created: session.created,
        used: null,
      })
    })
    return { token: await accessToken(session), refreshToken }
  }

  function accessToken(session: SessionRow): Promise<string> {
    return tokens.sign({
      sub: session.recordId,
      cid: session.collectionId,
      tk: session.tokenKey,
      sid: session.id,
    })
  }

  /** Whether the session still stands: not revoked, not expired, same record and password. */
  function isLive(session: SessionRow, collection: CollectionDef, row: Row | undefined): boolean {
    return (
      session.revoked === null &&
      session.expires > clock.now().toISOString() &&
      session.collectionId === collection.id &&
      row !== undefined &&
      tokenKeyMatches(row.tokenKey as string, session.tokenKey)
    )
  }

  /** `POST /auth/refresh`: spends the refresh token, returns a new pair. */
  async function refresh(
    collection: CollectionDef,
    refreshToken: unknown,
  ): Promise<{ token: string; refreshToken: string; row: Row }> {
    if (!isOpaqueToken(refreshToken, REFRESH_TOKEN_PREFIX)) throw refreshInvalid()
    const stored = await store.auth.getRefreshToken(hashToken(refreshToken))
    const session = stored && (await store.auth.getSession(stored.sessionId))
    // A token of another collection's session fails here, as if it did not exist.
    if (!stored || !session || session.collectionId !== collection.id) throw refreshInvalid()
    const at = clock.now().toISOString()
    if (!(await store.auth.markRefreshTokenUsed(stored.hash, at))) {
      // Reuse: revoke the family, so the thief and the victim both have to sign in again.
      await revoke({ id: session.id }, at)
      throw refreshInvalid()
    }
    const [row] = await store.selectByIds(collection, [session.recordId])
    if (!isLive(session, collection, row)) throw refreshInvalid()
    const next = newOpaqueToken(REFRESH_TOKEN_PREFIX)
    await store.transaction(async (tx) => {
      await tx.auth.insertRefreshToken({
        hash: hashToken(next),
        sessionId: session.id,
        created: at,
        used: null,
      })
      await tx.auth.touchSession(session.id, at)
    })
    return { token: await accessToken(session), refreshToken: next, row: row as Row }
  }

  /**
   * The record behind an access token when its session is live (used by `identify`): record
   * and session are read fresh, in one statement. `identify` keeps the answer for at most
   * `ER_AUTH_RECHECK_MS`, and drops it at once when this process changes either (caller-cache.ts).
   */
  async function liveCaller(
    collection: CollectionDef,
    recordId: string,
    sessionId: string,
  ): Promise<Row | undefined> {
    const found = await store.selectSessionCaller(collection, recordId, sessionId)
    return found && isLive(found.session, collection, found.row) ? found.row : undefined
  }

  async function revoke(
    target: { id: string } | { collectionId: string; recordId: string },
    at = clock.now().toISOString(),
  ): Promise<number> {
    return (await store.auth.revokeSessions(target, at)).length
  }

  /** `POST /auth/logout`: ends the caller's session, or the one a refresh token belongs to. */
  async function logout(
    collection: CollectionDef,
    identity: AuthIdentity | null,
    refreshToken: unknown,
  ): Promise<void> {
    if (refreshToken !== undefined) {
      if (!isOpaqueToken(refreshToken, REFRESH_TOKEN_PREFIX)) throw refreshInvalid()
      const stored = await store.auth.getRefreshToken(hashToken(refreshToken))
      const session = stored && (await store.auth.getSession(stored.sessionId))
      if (!session || session.collectionId !== collection.id) throw refreshInvalid()
      await revoke({ id: session.id })
      return
    }
    const own = ownSession(collection, identity)
    await revoke({ id: own.sessionId })
  }

  function ownSession(collection: CollectionDef, identity: AuthIdentity | null) {
    if (!identity) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to manage your sessions.')
    if (identity.collection.id !== collection.id || !identity.sessionId) {
      throw new EngineError('ER_FORBIDDEN', `Sign in as a record of "${collection.name}".`)
    }
    return { recordId: identity.record.id as string, sessionId: identity.sessionId }
  }

  /** `GET /auth/sessions`: the caller's live sessions, newest first. */
  async function listSessions(
    collection: CollectionDef,
    identity: AuthIdentity | null,
  ): Promise<{ items: SessionView[] }> {
    const own = ownSession(collection, identity)
    const now = clock.now().toISOString()
    const rows = await store.auth.listSessions(collection.id, own.recordId, MAX_SESSIONS_LISTED)
    const items = rows
      .filter((s) => s.revoked === null && s.expires > now)
      .map((s) => ({
        id: s.id,
        created: s.created,
        lastUsed: s.lastUsed,
        expires: s.expires,
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === own.sessionId,
      }))
    return { items }
  }

  /** `DELETE /auth/sessions/{id}`: revokes one of the caller's own sessions. */
  async function revokeSession(
    collection: CollectionDef,
    identity: AuthIdentity | null,
    sessionId: string,
  ): Promise<void> {
    const own = ownSession(collection, identity)
    const session = await store.auth.getSession(sessionId)
    // Someone else's session is "not found", never "forbidden": ids of others stay unconfirmed.
    if (!session || session.collectionId !== collection.id || session.recordId !== own.recordId) {
      throw new EngineError('ER_RECORD_NOT_FOUND', `No session "${sessionId}".`)
    }
    await revoke({ id: session.id })
  }

  /** `DELETE /auth/sessions`: signs the caller out everywhere. */
  async function revokeAllSessions(
    collection: CollectionDef,
    identity: AuthIdentity | null,
  ): Promise<{ revoked: number }> {
    const own = ownSession(collection, identity)
    return { revoked: await revoke({ collectionId: collection.id, recordId: own.recordId }) }
  }

  return {
    startSession,
    refresh,
    liveCaller,
    revokeRecordSessions: (collectionId: string, recordId: string) =>
      revoke({ collectionId, recordId }),
    logout,
    listSessions,
    revokeSession,
    revokeAllSessions,
  }
}

export type SessionService = ReturnType<typeof createSessionService>
