/**
 * Password sign-in, refresh and sign-out against an auth collection, with the session kept in
 * memory. Nothing is written to storage: an app that wants to persist the session saves it in
 * `onChange` and hands it back with `auth.restore(...)`.
 */
import { ProblemError } from './errors.js'
import type { Http, TokenRenewal } from './http.js'

export interface Session<R = Record<string, unknown>> {
  /** The auth collection the session belongs to (`users`, `_superusers`, …). */
  collection: string
  token: string
  refreshToken: string
  record: R
}

/** The answer to a password sign-in of an account with TOTP on: finish it with `verifyMfa`. */
export interface MfaChallenge {
  mfaRequired: true
  mfaToken: string
}

export type SessionListener = (session: Session | null) => void

export interface AuthApi {
  /** The current session, or null when signed out. */
  readonly session: Session | null
  readonly token: string | null
  /** Signs in; the session is stored unless the account needs a second factor. */
  signInWithPassword(
    collection: string,
    identity: string,
    password: string,
  ): Promise<Session | MfaChallenge>
  /** Finishes a sign-in that answered `mfaRequired` with a TOTP or recovery code. */
  verifyMfa(collection: string, mfaToken: string, code: string): Promise<Session>
  /**
   * Swaps the refresh token for a new pair (the old one is spent). Concurrent calls share one
   * request: presenting a spent refresh token would rightly end the session on the server.
   * Requests call it by themselves shortly before the token expires.
   */
  refresh(): Promise<Session>
  /** Ends the session on the server (when there is one) and forgets it here. */
  signOut(): Promise<void>
  /** Uses a session saved earlier (or a token minted elsewhere, e.g. an API key). */
  restore(session: Session | null): void
  /** Called on every change of the session; returns the function that stops listening. */
  onChange(listener: SessionListener): () => void
}

interface TokenPair {
  token: string
  refreshToken: string
  record: Record<string, unknown>
}

const authPath = (collection: string, action: string) =>
  `/api/collections/${encodeURIComponent(collection)}/auth/${action}`

export function createAuthStore(): {
  get(): Session | null
  set(session: Session | null): void
  listeners: Set<SessionListener>
} {
  let current: Session | null = null
  const listeners = new Set<SessionListener>()
  return {
    get: () => current,
    set(session) {
      current = session
      for (const listener of listeners) {
        // One listener's failure must not stop the others or the sign-in that triggered it.
        try {
          listener(session)
        } catch {
          // ignored on purpose
        }
      }
    },
    listeners,
  }
}

/**
 * When a token is due for refresh (unix seconds), read from its own `exp` and `iat` claims:
 * a quarter of its lifetime before expiry, at most a minute. Undefined for a token that is not a
 * JWT (an API key), which is never refreshed. The claims are only read, never trusted: the
 * server checks the signature.
 */
export function refreshDueAt(token: string): number | undefined {
  const payload = token.split('.')[1]
  if (token.split('.').length !== 3 || !payload) return undefined
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/')
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as {
      exp?: unknown
      iat?: unknown
    }
    if (typeof claims.exp !== 'number') return undefined
    const lifetime = typeof claims.iat === 'number' ? claims.exp - claims.iat : 240
    return claims.exp - Math.min(60, lifetime / 4)
  } catch {
    return undefined
  }
}

export function createAuthApi(
  http: Http,
  store: ReturnType<typeof createAuthStore>,
): AuthApi & { renewal: TokenRenewal } {
  const adopt = (collection: string, pair: TokenPair): Session => {
    const session = { collection, ...pair }
    store.set(session)
    return session
  }
  let refreshing: Promise<Session> | undefined
  const refreshOnce = async (session: Session): Promise<Session> => {
    const pair = await http.request<TokenPair>(authPath(session.collection, 'refresh'), {
      method: 'POST',
      body: { refreshToken: session.refreshToken },
      anonymous: true,
    })
    // Signed out (or signed in again) meanwhile: that newer state wins.
    if (store.get() !== session) return { collection: session.collection, ...pair }
    return adopt(session.collection, pair)
  }
  const refresh = (): Promise<Session> => {
    const session = store.get()
    if (!session) return Promise.reject(new Error('Not signed in: call signInWithPassword first.'))
    refreshing ??= refreshOnce(session).finally(() => (refreshing = undefined))
    return refreshing
  }
  const renewal: TokenRenewal = {
    async prepare() {
      const session = store.get()
      // A session restored without a refresh token (a token minted elsewhere) cannot renew.
      const due = session?.refreshToken ? refreshDueAt(session.token) : undefined
      if (refreshing) await refreshing
      else if (due !== undefined && Date.now() / 1000 >= due) await refresh()
    },
    async recover() {
      const session = store.get()
      if (!session?.refreshToken || refreshDueAt(session.token) === undefined) return false
      try {
        await refresh()
        return true
      } catch {
        return false
      }
    },
  }
  return {
    renewal,
    get session() {
      return store.get()
    },
    get token() {
      return store.get()?.token ?? null
    },
    async signInWithPassword(collection, identity, password) {
      const answer = await http.request<TokenPair | MfaChallenge>(
        authPath(collection, 'password'),
        {
          method: 'POST',
          body: { identity, password },
          anonymous: true,
        },
      )
      return 'mfaRequired' in answer ? answer : adopt(collection, answer)
    },
    async verifyMfa(collection, mfaToken, code) {
      const pair = await http.request<TokenPair>(authPath(collection, 'mfa/verify'), {
        method: 'POST',
        body: /^\d{6}$/.test(code) ? { mfaToken, code } : { mfaToken, recoveryCode: code },
        anonymous: true,
      })
      return adopt(collection, pair)
    },
    refresh,
    async signOut() {
      const session = store.get()
      store.set(null)
      if (!session) return
      try {
        await http.request(authPath(session.collection, 'logout'), {
          method: 'POST',
          body: { refreshToken: session.refreshToken },
          headers: { authorization: `Bearer ${session.token}` },
        })
      } catch (error) {
        // A session the server already ended (expired, revoked elsewhere) is signed out too.
        if (!(error instanceof ProblemError && error.status === 401)) throw error
      }
    },
    restore(session) {
      store.set(session)
    },
    onChange(listener) {
      store.listeners.add(listener)
      return () => store.listeners.delete(listener)
    },
  }
}
