import type * as OpenId from 'openid-client'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, Store } from '../../adapters/store/store.js'
import { changeSnapshot } from '../records/record-view.js'
import { newTokenKey, stampDates } from '../records/record-writes.js'
import type { AuthService, MfaChallenge, SignedIn } from './auth-service.js'
import type { ClientInfo } from './auth-sessions.js'
import {
  loadOpenIdClient,
  resolveProvider,
  type OAuthProviderConfig,
  type ProviderProfile,
  type ResolvedProvider,
} from './auth-oauth-providers.js'
import type { PasswordHasher } from './password-hasher.js'
import { hashToken, newOpaqueToken, safeEqual } from './secret-tokens.js'

/** How long a started sign-in may take before its state expires. */
const STATE_TTL_MS = 10 * 60_000
const MAX_STATE_LENGTH = 128

export interface OAuthDeps {
  store: Store
  clock: Clock
  passwords: PasswordHasher
  auth: Pick<AuthService, 'authCollection' | 'signInRecord'>
  /** The providers in force, asked per sign-in (settings may change them at run time). */
  providers: readonly OAuthProviderConfig[] | (() => readonly OAuthProviderConfig[])
  /** Public base URL of this server (no trailing slash); `redirect_uri` is built on it. */
  publicUrl(): string
  /** Origins a `?redirect=` may point to: the app URL's and `ER_TRUSTED_ORIGINS`. */
  redirectOrigins: readonly string[]
  /** Called after a transaction that created a record commits (wakes realtime). */
  onCommit?: (() => void) | undefined
}

/** The redirect to the provider and the browser-binding secret to set as a cookie. */
export interface OAuthStart {
  url: string
  binder: string
}

export interface OAuthResult {
  signedIn: SignedIn | MfaChallenge
  /** Where the app asked to go after sign-in ('' for a JSON answer). */
  redirect: string
}

export type OAuthService = ReturnType<typeof createOAuthService>

const stateInvalid = () =>
  new EngineError(
    'ER_AUTH_OAUTH_STATE_INVALID',
    'This sign-in attempt is unknown, expired or already used; start again.',
  )

/**
 * Sign-in with OAuth2 / OpenID Connect providers: the authorization code flow with PKCE, where
 * this server is the (confidential) client. State, nonce and PKCE verifier stay on the server;
 * only the state travels, and only its hash is stored.
 */
export function createOAuthService(deps: OAuthDeps) {
  const { store, clock } = deps
  const resolved = new Map<string, { from: string; pending: Promise<ResolvedProvider> }>()
  const providers =
    typeof deps.providers === 'function'
      ? deps.providers
      : () => deps.providers as readonly OAuthProviderConfig[]

  function providerOf(collection: CollectionDef, name: string): OAuthProviderConfig {
    const provider = providers().find((p) => p.name === name && p.collection === collection.name)
    if (!provider) {
      throw new EngineError(
        'ER_AUTH_OAUTH_PROVIDER_NOT_FOUND',
        `"${collection.name}" has no sign-in provider "${name}".`,
      )
    }
    return provider
  }

  /** Discovery runs once per provider; a failure is not cached, so a later request retries. */
  function resolve(provider: OAuthProviderConfig): Promise<ResolvedProvider> {
    const key = `${provider.collection}/${provider.name}`
    // A provider whose settings changed (another client id or secret) is resolved again.
    const from = JSON.stringify(provider)
    const known = resolved.get(key)
    if (known?.from === from) return known.pending
    const pending = resolveProvider(provider)
    pending.catch(() => {
      if (resolved.get(key)?.pending === pending) resolved.delete(key)
    })
    resolved.set(key, { from, pending })
    return pending
  }

  const callbackUrl = (collection: CollectionDef, provider: OAuthProviderConfig) =>
    `${deps.publicUrl()}/api/collections/${encodeURIComponent(collection.name)}/auth/oauth2/${provider.name}/callback`

  /** Only absolute URLs on an allowed origin: anything else would make this an open redirect. */
  function checkRedirect(redirect: unknown): string {
    if (redirect === undefined || redirect === '') return ''
    let url: URL | undefined
    try {
      url = typeof redirect === 'string' && redirect.length <= 2000 ? new URL(redirect) : undefined
    } catch {
      url = undefined
    }
    if (!url || !deps.redirectOrigins.includes(url.origin)) {
      throw new EngineError(
        'ER_AUTH_OAUTH_REDIRECT_REJECTED',
        'redirect must be a URL on the app URL or a trusted origin.',
      )
    }
    return url.href
  }

  /** `GET /auth/oauth2/{provider}`: where to send the browser, and the cookie binding it. */
  async function start(name: string, providerName: string, redirect: unknown): Promise<OAuthStart> {
    const collection = await deps.auth.authCollection(name)
    const provider = providerOf(collection, providerName)
    const target = checkRedirect(redirect)
    const { config, oidc, scope } = await resolve(provider)
    const client = await loadOpenIdClient()
    const state = newOpaqueToken('')
    // The binder ties the callback to the browser that started the flow, so an attacker cannot
    // send a victim a callback link carrying the attacker's own code (RFC 6749 §10.12, CSRF).
    const binder = newOpaqueToken('')
    const verifier = client.randomPKCECodeVerifier()
    const nonce = oidc ? client.randomNonce() : ''
    const now = clock.now()
    await store.auth.insertOAuthState(
      {
        hash: hashToken(state),
        collectionId: collection.id,
        provider: provider.name,
        verifier,
        nonce,
        binderHash: hashToken(binder),
        redirect: target,
        expires: new Date(now.getTime() + STATE_TTL_MS).toISOString(),
      },
      now.toISOString(),
    )
    const params: Record<string, string> = {
      response_type: 'code',
      redirect_uri: callbackUrl(collection, provider),
      scope,
      state,
      // RFC 7636 §4.2: "If the client is capable of using S256, it MUST use S256".
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }
    if (oidc) params.nonce = nonce
    return { url: client.buildAuthorizationUrl(config, params).href, binder }
  }

  /**
   * `GET /auth/oauth2/{provider}/callback?code&state`: spends the state, exchanges the code
   * (openid-client checks state, PKCE, and the ID token's signature, iss, aud, exp and nonce),
   * then signs in the linked, matching or new record.
   */
  async function complete(
    name: string,
    providerName: string,
    query: Record<string, unknown>,
    binder: string | undefined,
    clientInfo: ClientInfo,
  ): Promise<OAuthResult> {
    const collection = await deps.auth.authCollection(name)
    const provider = providerOf(collection, providerName)
    const state = query.state
    if (typeof state !== 'string' || state === '' || state.length > MAX_STATE_LENGTH) {
      throw stateInvalid()
    }
    // Taken (deleted) before anything else: a state is good for one callback, even a failed one.
    const pending = await store.auth.takeOAuthState(hashToken(state), clock.now().toISOString())
    if (
      !pending ||
      pending.collectionId !== collection.id ||
      pending.provider !== provider.name ||
      binder === undefined ||
      !safeEqual(hashToken(binder), pending.binderHash)
    ) {
      throw stateInvalid()
    }
    if (typeof query.error === 'string') {
      // RFC 6749 §4.1.2.1: `error` is an ASCII code; only a known-safe shape is repeated.
      const code = /^[a-z_]{1,64}$/.test(query.error) ? query.error : 'error'
      throw new EngineError('ER_AUTH_OAUTH_FAILED', `The provider refused the sign-in (${code}).`)
    }
    const { config, oidc, profile } = await resolve(provider)
    const client = await loadOpenIdClient()
    const current = new URL(callbackUrl(collection, provider))
    for (const [key, value] of Object.entries(query)) {
      if (typeof value === 'string') current.searchParams.set(key, value)
    }
    let tokens: Awaited<ReturnType<typeof OpenId.authorizationCodeGrant>>
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: state,
        ...(oidc ? { expectedNonce: pending.nonce, idTokenExpected: true } : {}),
      })
    } catch (error) {
      // openid-client's codes name the failed check without echoing tokens or secrets.
      const code = (error as { code?: unknown }).code
      throw new EngineError(
        'ER_AUTH_OAUTH_FAILED',
        `The code exchange or ID token check failed${typeof code === 'string' ? ` (${code})` : ''}.`,
      )
    }
    const who = await profile(tokens)
    const row = await findOrCreateAccount(collection, provider, who)
    const signedIn = await deps.auth.signInRecord(collection, row, clientInfo)
    return { signedIn, redirect: pending.redirect }
  }

  /** The linked record; else the record with the provider-verified e-mail; else a new one. */
  async function findOrCreateAccount(
    collection: CollectionDef,
    provider: OAuthProviderConfig,
    who: ProviderProfile,
  ): Promise<Row> {
    const link = await store.auth.findOAuthLink(collection.id, provider.name, who.subject)
    if (link) {
      const [linked] = await store.selectByIds(collection, [link.recordId])
      if (linked) return linked
    }
    if (!who.email) {
      throw new EngineError('ER_AUTH_OAUTH_FAILED', 'The provider did not share an e-mail address.')
    }
    const now = clock.now().toISOString()
    const [existing] = await store.selectByColumn(collection, 'email', who.email, 1)
    if (existing) {
      if (!who.emailVerified) {
        throw new EngineError(
          'ER_AUTH_OAUTH_EMAIL_CONFLICT',
          'An account has this e-mail, but the provider has not verified it.',
        )
      }
      if (existing.verified !== true) {
        await reclaimAccount(collection, provider, who, existing.id as string, now)
      } else {
        await linkAccount(collection, provider, who, existing.id as string, now)
      }
      const [row] = await store.selectByIds(collection, [existing.id as string])
      if (!row) throw stateInvalid()
      return row
    }
    const create = collection.rules.create
    if (create === null || create.trim() !== '') {
      throw new EngineError(
        'ER_AUTH_OAUTH_SIGNUP_CLOSED',
        `No account of "${collection.name}" matches, and anyone may not register.`,
      )
    }
    const row: Row = {
      id: newId(),
      email: who.email,
      verified: who.emailVerified,
      // The account signs in through the provider; a password can be set by a reset later.
      password: await unusablePassword(),
      tokenKey: newTokenKey(),
    }
    stampDates(collection, row, now, true)
    await store.transaction(async (tx) => {
      await tx.insertRecord(collection, row)
      await tx.auth.putOAuthLink({
        collectionId: collection.id,
        provider: provider.name,
        subject: who.subject,
        recordId: row.id as string,
        created: now,
      })
      const [written] = await tx.selectByIds(collection, [row.id as string])
      tx.recordChange({
        collection: collection.name,
        recordId: row.id as string,
        action: 'create',
        record: changeSnapshot(collection, written ?? row),
      })
    })
    deps.onCommit?.()
    const [created] = await store.selectByIds(collection, [row.id as string])
    if (!created) throw stateInvalid()
    return created
  }

  /**
   * An unverified account may have been registered in advance by someone else, to be taken
   * over once the real owner links it ("pre-account hijacking"). The provider just proved the
   * owner, so everything the squatter could have set up goes, in one transaction: the password
   * (a new tokenKey ends their tokens), their sessions, API keys, TOTP enrolment and every other
   * provider link; only the link that proved the owner remains.
   */
  async function reclaimAccount(
    collection: CollectionDef,
    provider: OAuthProviderConfig,
    who: ProviderProfile,
    recordId: string,
    now: string,
  ) {
    const password = await unusablePassword()
    await store.transaction(async (tx) => {
      await tx.updateRecord(collection, recordId, {
        verified: true,
        password,
        tokenKey: newTokenKey(),
        updated: now,
      })
      await tx.auth.revokeSessions({ collectionId: collection.id, recordId }, now)
      await tx.auth.revokeRecordApiKeys(collection.id, recordId, now)
      await tx.auth.deleteMfa(collection.id, recordId)
      await tx.auth.deleteOAuthLinks(collection.id, recordId)
      await tx.auth.putOAuthLink({
        collectionId: collection.id,
        provider: provider.name,
        subject: who.subject,
        recordId,
        created: now,
      })
    })
  }

  async function linkAccount(
    collection: CollectionDef,
    provider: OAuthProviderConfig,
    who: ProviderProfile,
    recordId: string,
    now: string,
  ) {
    await store.auth.putOAuthLink({
      collectionId: collection.id,
      provider: provider.name,
      subject: who.subject,
      recordId,
      created: now,
    })
  }

  /** A hash of a random secret nobody holds: password sign-in is impossible until a reset. */
  const unusablePassword = () => deps.passwords.hash(newOpaqueToken(''))

  return { start, complete }
}
