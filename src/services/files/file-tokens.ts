import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import { tokenKeyFingerprint } from '../auth/token-signer.js'
import { toApiRecord } from '../records/record-view.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'

const SUPERUSERS = '_superusers'

/** What a file token stands for: the caller who asked for it, by reference (never a secret). */
interface FileTokenClaims {
  /** Auth collection id and record id of the caller. */
  c: string
  r: string
  /** The sign-in session, when the caller used an access token. */
  s?: string
  /** The API key, when the caller used one (its scopes then bound the token too). */
  k?: string
  /** Expiry, seconds since the epoch. */
  e: number
}

/**
 * Short-lived file tokens (`POST /api/files/token`): `<payload>.<HMAC-SHA256>` in base64url,
 * keyed by a key derived from the server secret, so every node verifies them. A token carries
 * who asked, not what they may see: each download checks the record's view rule for that caller,
 * who must still be signed in (live session, unchanged password) or hold a live API key. A token
 * leaked in a log or a `Referer` is useless after its lifetime (2 minutes by default).
 *
 * @example
 *   const { token } = await tokens.issue(ctx.auth)   // → 'eyJjIjoi….q1w2e3…'
 *   GET /api/files/posts/<id>/cv_k3x9q0a1zt.pdf?token=<token>
 */
export function createFileTokens(deps: {
  store: Store
  registry: SchemaRegistry
  clock: Clock
  secret: string
  ttlSeconds: number
}) {
  const key = createHmac('sha256', deps.secret).update('engineroom file tokens v1').digest()
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest()

  function issue(identity: AuthIdentity): { token: string; expires: string } {
    const expiresMs = deps.clock.now().getTime() + deps.ttlSeconds * 1000
    const claims: FileTokenClaims = {
      c: identity.collection.id,
      r: String(identity.record.id),
      ...(identity.sessionId ? { s: identity.sessionId } : {}),
      ...(identity.apiKey ? { k: identity.apiKey.id } : {}),
      e: Math.floor(expiresMs / 1000),
    }
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
    return {
      token: `${payload}.${sign(payload).toString('base64url')}`,
      expires: new Date(expiresMs).toISOString(),
    }
  }

  /** The caller a token stands for, checked again now; ER_FILE_TOKEN_REQUIRED when it is not valid. */
  async function identify(token: string): Promise<AuthIdentity> {
    const claims = readClaims(token)
    const now = deps.clock.now()
    if (!claims || claims.e * 1000 <= now.getTime()) throw invalid()
    await deps.registry.refreshIfStale()
    const collection = deps.registry.findById(claims.c)
    if (collection?.type !== 'auth') throw invalid()
    let row: Row | undefined
    let apiKey: AuthIdentity['apiKey']
    if (claims.s !== undefined) {
      const found = await deps.store.selectSessionCaller(collection, claims.r, claims.s)
      const live =
        found &&
        found.session.revoked === null &&
        found.session.expires > now.toISOString() &&
        sameText(tokenKeyFingerprint(found.row.tokenKey as string), found.session.tokenKey)
      row = live ? found.row : undefined
    } else {
      ;[row] = await deps.store.selectByIds(collection, [claims.r])
      if (claims.k !== undefined) {
        const keys = await deps.store.auth.listApiKeys(collection.id, claims.r, 1000)
        const key = keys.find(
          (k) => k.id === claims.k && k.revoked === null && k.expires > now.toISOString(),
        )
        if (!key) row = undefined
        else apiKey = { id: key.id, scopes: key.scopes }
      }
    }
    if (!row) throw invalid()
    return {
      collection,
      record: toApiRecord(collection, row, false),
      isSuperuser: collection.name === SUPERUSERS,
      ...(claims.s ? { sessionId: claims.s } : {}),
      ...(apiKey ? { apiKey } : {}),
    }
  }

  function readClaims(token: string): FileTokenClaims | undefined {
    if (token.length > 1024) return undefined
    const [payload, signature, extra] = token.split('.')
    if (!payload || !signature || extra !== undefined) return undefined
    const given = Buffer.from(signature, 'base64url')
    const expected = sign(payload)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as FileTokenClaims
      return typeof claims.c === 'string' &&
        typeof claims.r === 'string' &&
        typeof claims.e === 'number'
        ? claims
        : undefined
    } catch {
      return undefined
    }
  }

  return { issue, identify }
}

export type FileTokens = ReturnType<typeof createFileTokens>

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function invalid(): EngineError {
  return new EngineError(
    'ER_FILE_TOKEN_REQUIRED',
    'The file token is invalid or has expired; ask POST /api/files/token for a new one.',
  )
}
