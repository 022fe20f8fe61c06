import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { authenticator } from 'otplib'
import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import type { ClientInfo } from './auth-sessions.js'
import type { LoginThrottle } from './auth-throttle.js'
import { hashToken, isOpaqueToken, newOpaqueToken, safeEqual } from './secret-tokens.js'

const MFA_TOKEN_PREFIX = 'erm_'
const MFA_TOKEN_TTL_SECONDS = 300
const RECOVERY_CODES = 10
const STEP_SECONDS = 30
const ISSUER = 'Engine Room'

export interface MfaDeps {
  store: Store
  clock: Clock
  /** The server secret; the TOTP encryption key is derived from it. */
  secret: string
  throttle: LoginThrottle
  authCollection(name: string): Promise<CollectionDef>
}

const codeInvalid = () =>
  new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'The code is wrong or was already used.')

/**
 * TOTP second factor (RFC 6238, SHA-1, 6 digits, 30 s steps: what authenticator apps support)
 * with one-time recovery codes. The secret must be recoverable to compute codes, so it is
 * encrypted with AES-256-GCM under a key derived from the server secret rather than hashed.
 */
export function createMfa(deps: MfaDeps) {
  const { store, clock } = deps
  const key = Buffer.from(hkdfSync('sha256', deps.secret, 'engineroom', 'totp secret v1', 32))

  function encrypt(text: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
    return ['v1', iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.')
  }

  function decrypt(stored: string): string {
    const [, iv, tag, data] = stored.split('.') as [string, string, string, string]
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([
      decipher.update(Buffer.from(data, 'base64url')),
      decipher.final(),
    ]).toString('utf8')
  }

  /**
   * The time step a code belongs to, or undefined. One step either side is accepted for clock
   * drift (RFC 6238 §5.2 recommends "at most one time step"); every candidate is compared in
   * constant time.
   */
  function matchStep(secret: string, code: string): number | undefined {
    const now = clock.now().getTime()
    const step = Math.floor(now / 1000 / STEP_SECONDS)
    let found: number | undefined
    for (const delta of [-1, 0, 1]) {
      const expected = authenticator
        .clone({ epoch: now + delta * STEP_SECONDS * 1000 })
        .generate(secret)
      if (safeEqual(expected, code)) found = step + delta
    }
    return found
  }

  function own(collection: CollectionDef, identity: AuthIdentity | null): string {
    if (!identity)
      throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to manage two-factor sign-in.')
    if (identity.collection.id !== collection.id || identity.apiKey) {
      throw new EngineError('ER_FORBIDDEN', `Sign in as a record of "${collection.name}".`)
    }
    return identity.record.id as string
  }

  function readCode(body: unknown, field: 'code' | 'recoveryCode'): string | undefined {
    const value = (body as Record<string, unknown> | undefined)?.[field]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value.length > 32)
      throw invalidField(field, 'type', 'must be a short string')
    return value.replace(/[\s-]/g, '').toLowerCase()
  }

  /** Checks a TOTP code (spending its step) or a recovery code (spending it). */
  async function checkSecondFactor(
    collection: CollectionDef,
    recordId: string,
    body: unknown,
  ): Promise<boolean> {
    const mfa = await store.auth.getMfa(collection.id, recordId)
    if (!mfa) return false
    const code = readCode(body, 'code')
    const recovery = readCode(body, 'recoveryCode')
    if (code !== undefined) {
      const step = matchStep(decrypt(mfa.secret), code)
      return step !== undefined && (await store.auth.advanceMfaStep(collection.id, recordId, step))
    }
    if (recovery !== undefined && mfa.enabled) {
      const hash = hashToken(recovery)
      const match = mfa.recovery.reduce((hit, h) => safeEqual(h, hash) || hit, false)
      return match && (await store.auth.useRecoveryCode(collection.id, recordId, hash))
    }
    throw invalidField('code', 'required', 'send a code or a recoveryCode')
  }

  return {
    /** After a correct password: a challenge token when the record has TOTP enabled. */
    async challenge(collection: CollectionDef, row: Row): Promise<string | undefined> {
      const mfa = await store.auth.getMfa(collection.id, row.id as string)
      if (!mfa?.enabled) return undefined
      const now = clock.now()
      const mfaToken = newOpaqueToken(MFA_TOKEN_PREFIX)
      await store.auth.insertOneTimeToken({
        hash: hashToken(mfaToken),
        purpose: 'mfa',
        collectionId: collection.id,
        recordId: row.id as string,
        email: '',
        expires: new Date(now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000).toISOString(),
        used: null,
      })
      return mfaToken
    },

    /** `POST /auth/mfa/verify` `{ mfaToken, code | recoveryCode }`: the record id on success. */
    async completeChallenge(
      collection: CollectionDef,
      body: unknown,
      client: ClientInfo,
    ): Promise<string> {
      const mfaToken = (body as { mfaToken?: unknown } | undefined)?.mfaToken
      if (!isOpaqueToken(mfaToken, MFA_TOKEN_PREFIX))
        throw invalidField('mfaToken', 'invalid', 'is not a valid challenge')
      const hash = hashToken(mfaToken)
      const pending = await store.auth.findOneTimeToken(hash, 'mfa', clock.now().toISOString())
      if (!pending || pending.collectionId !== collection.id) {
        throw new EngineError(
          'ER_AUTH_LINK_INVALID',
          'The sign-in challenge expired; sign in again.',
        )
      }
      // Codes are throttled like passwords: six digits fall to guessing without it.
      const subject = {
        collectionId: collection.id,
        identity: `mfa:${pending.recordId}`,
        ip: client.ip,
      }
      const attempt = await deps.throttle.begin(subject)
      if (!(await checkSecondFactor(collection, pending.recordId, body))) {
        await attempt.failed()
        throw codeInvalid()
      }
      await attempt.succeeded()
      if (!(await store.auth.consumeOneTimeToken(hash, 'mfa', clock.now().toISOString()))) {
        throw new EngineError('ER_AUTH_LINK_INVALID', 'The sign-in challenge was already used.')
      }
      return pending.recordId
    },

    /** `POST /auth/mfa/totp` : starts (or restarts) enrolment; the secret is shown this once. */
    async enrol(name: string, identity: AuthIdentity | null) {
      const collection = await deps.authCollection(name)
      const recordId = own(collection, identity)
      const existing = await store.auth.getMfa(collection.id, recordId)
      if (existing?.enabled) {
        throw new EngineError(
          'ER_RECORD_CONFLICT',
          'Two-factor sign-in is already on; disable it first.',
        )
      }
      // 160 bits, the length RFC 4226 §4 recommends for the shared secret.
      const secret = authenticator.generateSecret(20)
      await store.auth.putMfa({
        collectionId: collection.id,
        recordId,
        secret: encrypt(secret),
        enabled: null,
        recovery: [],
        lastStep: 0,
      })
      const label = String(identity?.record.email ?? recordId)
      return { secret, otpauthUrl: authenticator.keyuri(label, ISSUER, secret) }
    },

    /** `POST /auth/mfa/totp/confirm` `{ code }`: turns TOTP on; recovery codes are shown this once. */
    async confirm(name: string, identity: AuthIdentity | null, body: unknown) {
      const collection = await deps.authCollection(name)
      const recordId = own(collection, identity)
      const mfa = await store.auth.getMfa(collection.id, recordId)
      const code = readCode(body, 'code')
      if (code === undefined) throw invalidField('code', 'required', 'is required')
      if (!mfa || mfa.enabled)
        throw new EngineError('ER_RECORD_NOT_FOUND', 'No pending enrolment; start one first.')
      const step = matchStep(decrypt(mfa.secret), code)
      if (step === undefined) throw codeInvalid()
      const codes = Array.from({ length: RECOVERY_CODES }, () => {
        const raw = randomBytes(8).toString('hex')
        return `${raw.slice(0, 8)}-${raw.slice(8)}`
      })
      await store.auth.putMfa({
        ...mfa,
        enabled: clock.now().toISOString(),
        recovery: codes.map((c) => hashToken(c.replace('-', ''))),
        lastStep: step,
      })
      return { recoveryCodes: codes }
    },

    /**
     * `POST /auth/mfa/totp/disable` `{ code | recoveryCode }`: turns TOTP off with a valid code.
     * Throttled like the sign-in challenge, under the same key: a stolen access token must not
     * be a way to guess the six digits that stand between it and turning the second factor off.
     */
    async disable(name: string, identity: AuthIdentity | null, body: unknown, client: ClientInfo) {
      const collection = await deps.authCollection(name)
      const recordId = own(collection, identity)
      const subject = { collectionId: collection.id, identity: `mfa:${recordId}`, ip: client.ip }
      const attempt = await deps.throttle.begin(subject)
      if (!(await checkSecondFactor(collection, recordId, body))) {
        await attempt.failed()
        throw codeInvalid()
      }
      await attempt.succeeded()
      await store.auth.deleteMfa(collection.id, recordId)
    },

    /** Whether TOTP is on, and how many recovery codes are left. */
    async status(name: string, identity: AuthIdentity | null) {
      const collection = await deps.authCollection(name)
      const mfa = await store.auth.getMfa(collection.id, own(collection, identity))
      return {
        enabled: Boolean(mfa?.enabled),
        recoveryCodesLeft: mfa?.enabled ? mfa.recovery.length : 0,
      }
    },
  }
}

export type Mfa = ReturnType<typeof createMfa>
