import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { PASSWORD_MAX, validateUpdateInput } from '../../core/schema/validate-record.js'
import type { Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import { newTokenKey } from '../records/record-writes.js'
import type { PasswordHasher } from './password-hasher.js'
import type { LoginThrottle } from './auth-throttle.js'
import type { ClientInfo } from './auth-sessions.js'
import { hashToken, isOpaqueToken, newOpaqueToken } from './secret-tokens.js'

/** What each flow's link does, its token prefix and how long the link lives. */
const FLOWS = {
  verify: {
    prefix: 'erv_',
    ttlSeconds: 3 * 24 * 3600,
    path: 'verify-email',
    template: 'verification',
  },
  reset: {
    prefix: 'erp_',
    ttlSeconds: 30 * 60,
    path: 'reset-password',
    template: 'password-reset',
  },
  change: {
    prefix: 'ere_',
    ttlSeconds: 3600,
    path: 'confirm-email-change',
    template: 'email-change',
  },
} as const
type Flow = keyof typeof FLOWS

/** One mail per flow and account per this many seconds, so the endpoints cannot mail-bomb. */
const RESEND_SECONDS = 60
const MAX_EMAIL_LENGTH = 254

export interface EmailFlowDeps {
  store: Store
  clock: Clock
  passwords: PasswordHasher
  /** Renders the named mail template (see services/mail) with `values` and sends it. */
  sendMail(template: string, to: string, values: Record<string, string>): Promise<void>
  /** Public URL of the app that opens the links (`https://app.example.com`). */
  appUrl: string
  authCollection(name: string): Promise<CollectionDef>
  revokeRecordSessions(collectionId: string, recordId: string): Promise<number>
  /** Counts wrong passwords given to confirm an e-mail change, with sign-in failures. */
  throttle: LoginThrottle
  /** Where a failed delivery is reported (never with the message body). */
  logError(error: unknown, message: string): void
}

/** `259200` → `3 days`, `1800` → `30 minutes`, `3600` → `1 hour`: how people say it in a mail. */
export function describeDuration(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ]
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size
      return `${count} ${unit}${count === 1 ? '' : 's'}`
    }
  }
  return `${Math.round(seconds / 60)} minutes`
}

/** Field types a template may show as `{{record.<field>}}`: plain values, never secrets. */
const SHOWN_TYPES = new Set([
  'text',
  'number',
  'bool',
  'date',
  'email',
  'url',
  'select',
  'autodate',
])

/** The account's own visible fields, as a mail template's `record.*` variables. */
function recordValues(collection: CollectionDef, row: Row): Record<string, string> {
  const values: Record<string, string> = { 'record.id': String(row.id) }
  for (const field of collection.fields) {
    const value = row[field.name]
    if (field.hidden || !SHOWN_TYPES.has(field.type) || value === null || value === undefined) {
      continue
    }
    values[`record.${field.name}`] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return values
}

const linkInvalid = () =>
  new EngineError('ER_AUTH_LINK_INVALID', 'This link is invalid, expired or was used already.')

/**
 * E-mail verification, password reset and e-mail change. Each mails a single-use link whose
 * token is stored only as a SHA-256 hash and expires. Request endpoints answer the same whether
 * or not the address has an account, and send in the background so timing does not tell either.
 * The token travels in the URL fragment, which browsers never send to a server (RFC 3986 §3.5),
 * so it stays out of access logs and Referer headers of the app's host.
 */
export function createEmailFlows(deps: EmailFlowDeps) {
  const { store, clock, passwords } = deps

  function readEmail(body: unknown, field: string): string {
    const value = (body as Record<string, unknown> | undefined)?.[field]
    if (typeof value !== 'string' || value.length > MAX_EMAIL_LENGTH || !value.includes('@')) {
      throw invalidField(field, 'invalid', 'must be an e-mail address')
    }
    return value.trim().toLowerCase()
  }

  function readToken(body: unknown, flow: Flow): string {
    const token = (body as { token?: unknown } | undefined)?.token
    if (token === undefined) throw invalidField('token', 'required', 'is required')
    if (!isOpaqueToken(token, FLOWS[flow].prefix)) throw linkInvalid()
    return token
  }

  /** Issues a token and mails the link, unless one was mailed in the last minute. */
  async function issue(collection: CollectionDef, row: Row, flow: Flow, to: string): Promise<void> {
    const now = clock.now()
    const at = now.toISOString()
    const key = `mail:${flow}:${collection.id}:${row.id as string}`
    const until = new Date(now.getTime() + RESEND_SECONDS * 1000).toISOString()
    if (!(await store.auth.claimThrottleSlot(key, at, until))) return
    const token = newOpaqueToken(FLOWS[flow].prefix)
    await store.transaction(async (tx) => {
      // A new link replaces older ones: only the latest mail works.
      await tx.auth.expireOneTimeTokens(collection.id, row.id as string, flow, at)
      await tx.auth.insertOneTimeToken({
        hash: hashToken(token),
        purpose: flow,
        collectionId: collection.id,
        recordId: row.id as string,
        email: to,
        expires: new Date(now.getTime() + FLOWS[flow].ttlSeconds * 1000).toISOString(),
        used: null,
      })
    })
    const link = `${deps.appUrl}/auth/${FLOWS[flow].path}#collection=${encodeURIComponent(collection.name)}&token=${token}`
    await deps.sendMail(FLOWS[flow].template, to, {
      ...recordValues(collection, row),
      link,
      email: to,
      expiresIn: describeDuration(FLOWS[flow].ttlSeconds),
      collection: collection.name,
      appUrl: deps.appUrl,
    })
  }

  /** Runs a request flow in the background: the answer must not wait on (or reveal) it. */
  function inBackground(work: () => Promise<void>): void {
    void work().catch((error: unknown) => deps.logError(error, 'e-mail flow failed'))
  }

  async function findByEmail(collection: CollectionDef, email: string): Promise<Row | undefined> {
    const [row] = await store.selectByColumn(collection, 'email', email, 1)
    return row
  }

  async function consume(collection: CollectionDef, token: string, flow: Flow) {
    const used = await store.auth.consumeOneTimeToken(
      hashToken(token),
      flow,
      clock.now().toISOString(),
    )
    if (!used || used.collectionId !== collection.id) throw linkInvalid()
    const [row] = await store.selectByIds(collection, [used.recordId])
    if (!row) throw linkInvalid()
    return { used, row }
  }

  return {
    /** `POST /auth/request-verification` `{ email }`: always 204. */
    async requestVerification(name: string, body: unknown): Promise<void> {
      const collection = await deps.authCollection(name)
      const email = readEmail(body, 'email')
      const work = async () => {
        const row = await findByEmail(collection, email)
        if (!row || row.verified === true) return
        await issue(collection, row, 'verify', email)
      }
      inBackground(work)
    },

    /** `POST /auth/verify-email` `{ token }`; returns the id of the record verified. */
    async verifyEmail(name: string, body: unknown): Promise<{ recordId: string }> {
      const collection = await deps.authCollection(name)
      const { used, row } = await consume(collection, readToken(body, 'verify'), 'verify')
      // The address must still be the one the link was sent to.
      if (row.email !== used.email) throw linkInvalid()
      await store.updateRecord(collection, row.id as string, {
        verified: true,
        updated: clock.now().toISOString(),
      })
      return { recordId: row.id as string }
    },

    /** `POST /auth/request-password-reset` `{ email }`: always 204. */
    async requestPasswordReset(name: string, body: unknown): Promise<void> {
      const collection = await deps.authCollection(name)
      const email = readEmail(body, 'email')
      const work = async () => {
        const row = await findByEmail(collection, email)
        if (!row) return
        await issue(collection, row, 'reset', email)
      }
      inBackground(work)
    },

    /**
     * `POST /auth/reset-password` `{ token, password }`: sets the password, ends every session;
     * returns the id of the record.
     */
    async resetPassword(name: string, body: unknown): Promise<{ recordId: string }> {
      const collection = await deps.authCollection(name)
      const token = readToken(body, 'reset')
      // Validate before spending the token, so a too-short password does not burn the link.
      const input = validateUpdateInput(
        collection,
        { password: (body as { password?: unknown }).password },
        '',
      )
      if (input.password === undefined) throw invalidField('password', 'required', 'is required')
      const hash = await passwords.hash(input.password)
      const { row, used } = await consume(collection, token, 'reset')
      // Proving control of the mailbox also proves the address.
      const verified = row.email === used.email ? { verified: true } : {}
      const now = clock.now().toISOString()
      const recordId = row.id as string
      // All or nothing: a new password with a thief's sessions or keys still live is no reset.
      await store.transaction(async (tx) => {
        await tx.updateRecord(collection, recordId, {
          password: hash,
          tokenKey: newTokenKey(),
          ...verified,
          updated: now,
        })
        await tx.auth.revokeSessions({ collectionId: collection.id, recordId }, now)
        // API keys were issued on the strength of the old password: they end with it, or a
        // thief's key would outlive the reset meant to shut them out.
        await tx.auth.revokeRecordApiKeys(collection.id, recordId, now)
      })
      return { recordId }
    },

    /** `POST /auth/request-email-change` `{ newEmail }` by the signed-in record: always 204. */
    async requestEmailChange(name: string, identity: AuthIdentity | null, body: unknown) {
      const collection = await deps.authCollection(name)
      if (!identity) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to change your e-mail.')
      if (identity.collection.id !== collection.id || identity.apiKey) {
        throw new EngineError('ER_FORBIDDEN', `Sign in as a record of "${collection.name}".`)
      }
      const input = validateUpdateInput(
        collection,
        { email: readEmail(body, 'newEmail') },
        identity.record.id as string,
      )
      const newEmail = input.values.email as string
      const work = async () => {
        const [row] = await store.selectByIds(collection, [identity.record.id as string])
        // An address already taken gets no mail; the answer is the same, so it is not revealed.
        if (!row || (await findByEmail(collection, newEmail))) return
        await issue(collection, row, 'change', newEmail)
      }
      inBackground(work)
    },

    /**
     * `POST /auth/confirm-email-change` `{ token, password }`: switches the address, ends every
     * session. The account's password is asked too (as PocketBase does): the link proves the
     * new mailbox, the password proves the account's owner asked. Without it a stolen access
     * token could move the account to the thief's address, mark it verified, and reset the
     * password from there. Wrong passwords count with sign-in failures; the link stays usable.
     */
    async confirmEmailChange(name: string, body: unknown, client: ClientInfo): Promise<void> {
      const collection = await deps.authCollection(name)
      const token = readToken(body, 'change')
      const password = (body as { password?: unknown }).password
      if (typeof password !== 'string' || password === '' || password.length > PASSWORD_MAX) {
        throw invalidField('password', 'required', "is required: the account's current password")
      }
      const pending = await store.auth.findOneTimeToken(
        hashToken(token),
        'change',
        clock.now().toISOString(),
      )
      if (!pending || pending.collectionId !== collection.id) throw linkInvalid()
      const [owner] = await store.selectByIds(collection, [pending.recordId])
      if (!owner) throw linkInvalid()
      const attempt = await deps.throttle.begin({
        collectionId: collection.id,
        identity: String(owner.email),
        ip: client.ip,
      })
      if (!(await passwords.verify(owner.password as string, password))) {
        await attempt.failed()
        throw new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'password: the password is wrong.', {
          errors: { password: [{ code: 'invalid', message: 'is not the current password' }] },
        })
      }
      await attempt.succeeded()
      const { used, row } = await consume(collection, token, 'change')
      await store.updateRecord(collection, row.id as string, {
        email: used.email,
        verified: true,
        tokenKey: newTokenKey(),
        updated: clock.now().toISOString(),
      })
      await deps.revokeRecordSessions(collection.id, row.id as string)
    },
  }
}

export type EmailFlows = ReturnType<typeof createEmailFlows>
