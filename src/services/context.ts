import type { ApiKeyScope, ChangeActor } from '../adapters/store/store.js'
import type { CollectionDef } from '../core/schema/types.js'

/** Who is calling: a record of an auth collection (a superuser is one of `_superusers`). */
export interface AuthIdentity {
  collection: CollectionDef
  record: Record<string, unknown>
  isSuperuser: boolean
  /** The sign-in session behind an access token (absent for the CLI and API keys). */
  sessionId?: string
  /** Set when the caller used an API key: it may do only what these scopes allow. */
  apiKey?: { id: string; scopes: ApiKeyScope[] }
}

/**
 * Everything a service needs to know about the request that is not its input: who calls,
 * which request this is (for logs), and the query parameters that rules may read.
 */
export interface RequestContext {
  auth: AuthIdentity | null
  requestId: string
  query: Record<string, string>
  /** The client's address (after `ER_TRUST_PROXY`), when a transport knows it. */
  ip?: string
  /**
   * Passwords this request may still set (each an argon2 hash): spent by the records service
   * for non-superusers, shared by every write of the request (a batch, a GraphQL document or
   * array of documents). Made on first use.
   */
  passwordBudget?: { left: number }
  /** How many extension hooks deep this call is (a hook's write runs hooks too); bounded. */
  hookDepth?: number
}

/** A context for the CLI and for internal work, acting as the engine itself. */
export function systemContext(requestId = 'system'): RequestContext {
  return { auth: null, requestId, query: {} }
}

/** The command line acts with a superuser's powers: whoever runs it owns the data directory. */
export function cliContext(superusers: CollectionDef): RequestContext {
  return {
    auth: { collection: superusers, record: { id: 'cli' }, isSuperuser: true },
    requestId: 'cli',
    query: {},
  }
}

/** Who a change is recorded as made by (the outbox's `actor`); undefined for anonymous. */
export function actorOf(ctx: RequestContext): ChangeActor | undefined {
  const auth = ctx.auth
  if (!auth) return undefined
  return {
    collectionId: auth.collection.id,
    recordId: String(auth.record.id),
    ...(auth.apiKey ? { apiKey: auth.apiKey } : {}),
  }
}
