import { createAccountAdmin } from './auth-account-admin.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { toApiRecord } from '../records/record-view.js'
import type { Mailer } from '../../adapters/mailer/mailer.js'
import { API_KEY_PREFIX, createApiKeys } from './auth-api-keys.js'
import { createEmailFlows } from './auth-email-flows.js'
import { createMailTemplates } from '../mail/mail-templates.js'
import { createMfa } from './auth-mfa.js'
import { createSessionService, type ClientInfo } from './auth-sessions.js'
import { createCallerCache, type CallerStamp } from './caller-cache.js'
import { createLoginThrottle, type ThrottlePolicy } from './auth-throttle.js'
import type { PasswordHasher } from './password-hasher.js'
import type { TokenSigner } from './token-signer.js'

export const SUPERUSERS_COLLECTION = '_superusers'
const MAX_IDENTITY_LENGTH = 254
const MAX_PASSWORD_LENGTH = 256
/** What a caller that gives no client information (CLI, tests) is recorded as. */
const UNKNOWN_CLIENT: ClientInfo = { ip: 'unknown', userAgent: '' }

export interface AuthDeps {
  store: Store
  registry: SchemaRegistry
  passwords: PasswordHasher
  tokens: TokenSigner
  clock: Clock
  /** Absolute session lifetime (refresh tokens never outlive it). */
  sessionTtlSeconds: number
  throttle?: ThrottlePolicy
  /** Sends verification, reset and e-mail change links; without one those requests are 503. */
  mailer?: Mailer | undefined
  /**
   * Sends a named mail template (the engine's goes through the job queue, so a failing SMTP
   * server is retried); default: rendered and sent at once through `mailer`.
   */
  sendMail?(template: string, to: string, values: Record<string, string>): Promise<void>
  /** Public URL of the app that opens e-mailed links. */
  appUrl: string
  logError(error: unknown, message: string): void
  /** The server secret (TOTP secrets are encrypted under a key derived from it). */
  secret: string
  /**
   * How long a checked caller is trusted before its session and record are read again; see
   * `createCallerCache`. Default 1000 ms, 0 for every request.
   */
  callerRecheckMs?: number
}

/** What a successful sign-in or refresh answers. */
export interface SignedIn {
  token: string
  refreshToken: string
  record: Row
}

/** A correct password for an account with TOTP on: `/auth/mfa/verify` completes it. */
export interface MfaChallenge {
  mfaRequired: true
  mfaToken: string
}

export type AuthService = ReturnType<typeof createAuthService>

/** Signing in, sessions, and turning a bearer token back into the caller's identity. */
export function createAuthService(deps: AuthDeps) {
  const { store, registry, passwords, tokens, clock } = deps
  const sessions = createSessionService(deps)
  const throttle = createLoginThrottle(store, clock, deps.throttle)
  const apiKeys = createApiKeys({ store, registry, clock, authCollection })
  const recheckMs = deps.callerRecheckMs ?? 1000
  const callers = createCallerCache({ recheckMs, maxEntries: 10_000 })
  const mfa = createMfa({ store, clock, secret: deps.secret, throttle, authCollection })
  const accounts = createAccountAdmin({ store, clock, authCollection })
  // Verifying against a real hash when the e-mail is unknown keeps both answers equally slow,
  // so response time does not reveal which e-mails have accounts.
  let decoyHash: Promise<string> | undefined
  const decoy = () => (decoyHash ??= passwords.hash('engineroom decoy password'))

  async function authCollection(name: string): Promise<CollectionDef> {
    const collection = await registry.getFresh(name)
    if (collection.type !== 'auth') {
      throw new EngineError('ER_COLLECTION_NOT_FOUND', `"${name}" is not an auth collection.`)
    }
    return collection
  }

  const view = (collection: CollectionDef, row: Row) =>
    toApiRecord(collection, row, collection.name === SUPERUSERS_COLLECTION)

  /** `POST /api/collections/{name}/auth/password` with `{ identity, password }`. */
  async function loginWithPassword(
    name: string,
    body: unknown,
    client: ClientInfo = UNKNOWN_CLIENT,
  ): Promise<SignedIn | MfaChallenge> {
    const collection = await authCollection(name)
    const { identity, password } = (body ?? {}) as { identity?: unknown; password?: unknown }
    if (typeof identity !== 'string' || identity === '' || identity.length > MAX_IDENTITY_LENGTH) {
      throw invalid('identity', 'must be the account e-mail')
    }
    if (typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) {
      throw invalid('password', `must be a string of 1-${MAX_PASSWORD_LENGTH} characters`)
    }
    // E-mails are stored lower-cased, so this exact match is case-insensitive.
    const email = identity.toLowerCase()
    const subject = { collectionId: collection.id, identity: email, ip: client.ip }
    const attempt = await throttle.begin(subject)
    const [row] = await store.selectByColumn(collection, 'email', email, 1)
    const ok = row
      ? await passwords.verify(row.password as string, password)
      : (await passwords.verify(await decoy(), password), false)
    if (!row || !ok) {
      await attempt.failed()
      throw new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'The e-mail or password is wrong.')
    }
    await attempt.succeeded()
    return signInRecord(collection, row, client)
  }

  /**
   * What every first factor ends with (a password, an OAuth2 provider): the TOTP challenge when
   * the record has MFA on, else a new session.
   */
  async function signInRecord(
    collection: CollectionDef,
    row: Row,
    client: ClientInfo,
  ): Promise<SignedIn | MfaChallenge> {
    const mfaToken = await mfa.challenge(collection, row)
    if (mfaToken) return { mfaRequired: true, mfaToken }
    const pair = await sessions.startSession(collection, row, client)
    return { ...pair, record: view(collection, row) }
  }

  /** `POST /api/collections/{name}/auth/mfa/verify` with `{ mfaToken, code | recoveryCode }`. */
  async function verifyMfa(
    name: string,
    body: unknown,
    client: ClientInfo = UNKNOWN_CLIENT,
  ): Promise<SignedIn> {
    const collection = await authCollection(name)
    const recordId = await mfa.completeChallenge(collection, body, client)
    const [row] = await store.selectByIds(collection, [recordId])
    if (!row) throw new EngineError('ER_AUTH_LINK_INVALID', 'The sign-in challenge expired.')
    const pair = await sessions.startSession(collection, row, client)
    return { ...pair, record: view(collection, row) }
  }

  /** `POST /api/collections/{name}/auth/refresh` with `{ refreshToken }`. */
  async function refresh(name: string, refreshToken: unknown): Promise<SignedIn> {
    const collection = await authCollection(name)
    const { row, ...pair } = await sessions.refresh(collection, refreshToken)
    return { ...pair, record: view(collection, row) }
  }

  /**
   * The caller of `token` when this node checked it within the recheck interval (see
   * caller-cache.ts), else undefined: a synchronous answer for the common case, so a request
   * from a known caller takes no async step before its route runs. `identify` does the rest.
   */
  function knownCaller(token: string): AuthIdentity | undefined {
    return registry.stale ? undefined : cachedCaller(token, callerStamp(), Date.now())
  }

  /** What the caller cache's entries are checked against: taken before a session is read. */
  const callerStamp = () => ({ generation: store.callerGeneration, catalogue: registry.catalogue })

  function cachedCaller(token: string, stamp: CallerStamp, now: number) {
    const known = callers.get(token, now, stamp)
    // A removed signing key takes its tokens with it, cached or not; keys due for their re-read
    // send the request through `tokens.verify`, which re-reads them first.
    return known && !tokens.keysStale() && tokens.knowsKey(known.kid) ? known.identity : undefined
  }

  /**
   * Session reads under way, by token. When a cached caller's time runs out, every request of
   * that caller already in flight (32 at once under load) would read the session again: they
   * share the one read started under the same stamp instead (a change this process committed
   * meanwhile moves the generation, and then a request reads for itself). Never with a recheck
   * interval of 0.
   */
  const lookups = new Map<string, { stamp: CallerStamp; identity: Promise<AuthIdentity> }>()

  /** The identity behind `Authorization: Bearer <token or API key>`, or ER_AUTH_TOKEN_INVALID. */
  async function identify(token: string): Promise<AuthIdentity> {
    if (token.startsWith(API_KEY_PREFIX)) return apiKeys.identify(token)
    const known = knownCaller(token)
    if (known) return known
    // Cached by the engine's signer (see withVerifyCache).
    const claims = await tokens.verify(token)
    await registry.refreshIfStale()
    // Taken before the session is read: a change committed meanwhile makes the entry stale.
    const stamp = callerStamp()
    const now = Date.now()
    const cached = cachedCaller(token, stamp, now)
    if (cached) return cached
    // A recheck interval of 0 asks for a read of each request's own.
    if (recheckMs <= 0) return readCaller(token, claims, stamp, now)
    const under = lookups.get(token)
    if (under?.stamp.generation === stamp.generation && under.stamp.catalogue === stamp.catalogue)
      return under.identity
    const identity = readCaller(token, claims, stamp, now)
    lookups.set(token, { stamp, identity })
    const settled = () => {
      if (lookups.get(token)?.identity === identity) lookups.delete(token)
    }
    identity.then(settled, settled)
    return identity
  }

  /** Reads the session and record behind verified `claims`, and keeps the identity. */
  async function readCaller(
    token: string,
    claims: Awaited<ReturnType<typeof tokens.verify>>,
    stamp: CallerStamp,
    now: number,
  ): Promise<AuthIdentity> {
    const collection = registry.findById(claims.cid)
    // The session check also covers the password: it compares the record's tokenKey.
    const row =
      collection?.type === 'auth'
        ? await sessions.liveCaller(collection, claims.sub, claims.sid)
        : undefined
    if (!collection || !row) {
      throw new EngineError(
        'ER_AUTH_TOKEN_INVALID',
        'The token is invalid or has expired; sign in again.',
      )
    }
    const identity: AuthIdentity = {
      collection,
      record: toApiRecord(collection, row, false),
      isSuperuser: collection.name === SUPERUSERS_COLLECTION,
      sessionId: claims.sid,
    }
    return callers.set(token, identity, stamp, now, claims)
  }

  /** `POST /auth/logout`: by the caller's token, or by `{ refreshToken }`. */
  async function logout(name: string, identity: AuthIdentity | null, body: unknown) {
    const { refreshToken } = (body ?? {}) as { refreshToken?: unknown }
    await sessions.logout(await authCollection(name), identity, refreshToken)
  }

  const mailTemplates = createMailTemplates({ store: deps.store, mailer: deps.mailer })
  const email = createEmailFlows({
    ...deps,
    sendMail: deps.sendMail ?? mailTemplates.send,
    authCollection,
    revokeRecordSessions: sessions.revokeRecordSessions,
    throttle,
  })

  /**
   * Proves the signed-in owner of `row` asked for something irreversible (erasing their data):
   * their current password, counted with sign-in failures so it cannot be guessed through here.
   */
  async function confirmPassword(
    collection: CollectionDef,
    row: Row,
    password: unknown,
    client: ClientInfo = UNKNOWN_CLIENT,
  ): Promise<void> {
    if (typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) {
      throw invalid('password', "is required: the account's current password")
    }
    const attempt = await throttle.begin({
      collectionId: collection.id,
      identity: String(row.email),
      ip: client.ip,
    })
    if (!(await passwords.verify(row.password as string, password))) {
      await attempt.failed()
      throw new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'password: the password is wrong.', {
        errors: { password: [{ code: 'invalid', message: 'is not the current password' }] },
      })
    }
    await attempt.succeeded()
  }

  return {
    authCollection,
    confirmPassword,
    email,
    loginWithPassword,
    signInRecord,
    verifyMfa,
    mfa,
    accounts,
    apiKeys,
    refresh,
    identify,
    knownCaller,
    logout,
    listSessions: async (name: string, identity: AuthIdentity | null) =>
      sessions.listSessions(await authCollection(name), identity),
    revokeSession: async (name: string, identity: AuthIdentity | null, id: string) =>
      sessions.revokeSession(await authCollection(name), identity, id),
    revokeAllSessions: async (name: string, identity: AuthIdentity | null) =>
      sessions.revokeAllSessions(await authCollection(name), identity),
  }
}

function invalid(field: string, message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', `${field}: ${message}`, {
    errors: { [field]: [{ code: 'invalid', message }] },
  })
}
