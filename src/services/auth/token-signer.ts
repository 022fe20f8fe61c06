import { createHash } from 'node:crypto'
import { jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose'
import { EngineError } from '../../core/errors/index.js'
import type { StoreSession } from '../../adapters/store/store.js'
import type { Bus } from '../../adapters/bus/bus.js'
import {
  ALGORITHM,
  importSigningKeys,
  readSigningKeys,
  SIGNING_KEYS_CHANNEL,
  type SigningKeySet,
} from './signing-keys.js'

const ISSUER = 'engineroom'
const AUDIENCE = 'engineroom:api'
/**
 * How long a node trusts its copy of the key list before re-reading it from the store, on the
 * next token it signs or verifies: the fallback when no bus told it of a change.
 */
const KEY_RELOAD_MS = 60_000
/** An unknown `kid` triggers a re-read at most this often, so garbage kids cannot flood the store. */
const UNKNOWN_KID_RELOAD_MS = 5_000

/** The claims an access token carries. */
export interface AccessClaims {
  /** Record id. */
  sub: string
  /** Collection id of the record. */
  cid: string
  /** Fingerprint of the record's tokenKey: a password change makes older tokens invalid. */
  tk: string
  /** Session id: logging out or revoking the session makes the token invalid. */
  sid: string
  /** Expiry, seconds since the epoch (set by `sign`). */
  exp?: number
  /** The key that signed it (known after `verify`). */
  kid?: string
}

export interface TokenSigner {
  sign(claims: AccessClaims): Promise<string>
  verify(token: string): Promise<Required<AccessClaims>>
  /** The full check (signature, claims, expiry) every time; `verify` may answer from a cache. */
  verifySignature(token: string): Promise<Required<AccessClaims>>
  /** Public keys for `/.well-known/jwks.json`: every key that still verifies. */
  publicJwks(): JWK[]
  /** Whether `kid` still verifies (false once its key is removed). */
  knowsKey(kid: string): boolean
  /** Whether the keys were read longer ago than the re-read interval (see `refreshIfStale`). */
  keysStale(): boolean
  /** Re-reads the keys when `keysStale()`, joining a re-read already under way. */
  refreshIfStale(): Promise<void>
  /** Re-reads the keys from the store (after `engineroom keys rotate` on another process). */
  reload(): Promise<void>
  /**
   * Reloads at once when a process announces a key change on `bus` (`SIGNING_KEYS_CHANNEL`);
   * the periodic re-read stays as the fallback for a lost message.
   */
  watch(bus: Bus, onError: (error: unknown) => void): Promise<void>
  /** Stops listening (before the store closes). */
  unwatch(): Promise<void>
}

/** A short, non-reversible fingerprint of a record's tokenKey, for the `tk` claim. */
export function tokenKeyFingerprint(tokenKey: string): string {
  return createHash('sha256').update(tokenKey).digest('base64url').slice(0, 22)
}

/**
 * Access tokens: JWTs signed with Ed25519 under a `kid`. Keys live in the store's settings, so
 * every node sharing the database signs and verifies alike; the newest key signs, older ones keep
 * verifying until removed (`engineroom keys rotate|remove`).
 *
 * @example
 *   const signer = await loadTokenSigner(store, { ttlSeconds: 3600 })
 *   const token = await signer.sign({ sub: user.id, cid: users.id, tk: tokenKeyFingerprint(user.tokenKey), sid })
 */
export async function loadTokenSigner(
  store: StoreSession,
  options: { ttlSeconds: number; reloadMs?: number },
): Promise<TokenSigner> {
  const reloadMs = options.reloadMs ?? KEY_RELOAD_MS
  let keys: SigningKeySet = await importSigningKeys(await readSigningKeys(store, true))
  let loadedAt = Date.now()
  let unknownKidReloadAt = 0
  /** The latest re-read under way: a token with an unknown kid waits for it. */
  let loading: Promise<void> | undefined
  /** Re-reads started and the latest applied: an older read finishing late is dropped. */
  let loadsStarted = 0
  let loadApplied = 0
  let unwatch: (() => Promise<void>) | undefined

  // Never joins a read under way: that one may have read the keys before the change it is
  // called for (a bus message) was committed.
  function reload(): Promise<void> {
    const current: Promise<void> = read(++loadsStarted, Date.now()).finally(() => {
      if (loading === current) loading = undefined
    })
    loading = current
    return current
  }

  async function read(load: number, startedAt: number): Promise<void> {
    const fresh = await importSigningKeys(await readSigningKeys(store, true))
    if (load < loadApplied) return
    loadApplied = load
    keys = fresh
    loadedAt = startedAt
  }

  const keysStale = () => Date.now() - loadedAt > reloadMs
  const refreshIfStale = async () => {
    if (keysStale()) await (loading ?? reload())
  }

  async function keyFor(kid: string | undefined): Promise<CryptoKey> {
    if (!kid) throw new Error('no kid')
    let key = keys.byKid.get(kid)
    // A key announced a moment ago may be on its way in: concurrent requests carrying it wait
    // for that read rather than fail while it runs.
    if (!key && loading) {
      await loading
      key = keys.byKid.get(kid)
    }
    if (!key && Date.now() - unknownKidReloadAt > UNKNOWN_KID_RELOAD_MS) {
      unknownKidReloadAt = Date.now()
      await reload()
      key = keys.byKid.get(kid)
    }
    if (!key) throw new Error('unknown kid')
    return key.publicKey
  }

  return {
    async sign(claims) {
      await refreshIfStale()
      return new SignJWT({ cid: claims.cid, tk: claims.tk, sid: claims.sid })
        .setProtectedHeader({ alg: ALGORITHM, kid: keys.current.kid, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(keys.current.privateKey)
    },
    verify: verifySignature,
    verifySignature,
    knowsKey: (kid) => keys.byKid.has(kid),
    publicJwks: () => [...keys.byKid.values()].map((k) => k.publicJwk),
    keysStale,
    refreshIfStale,
    reload,
    async watch(bus, onError) {
      unwatch = await bus.subscribe(SIGNING_KEYS_CHANNEL, () => {
        reload().catch(onError)
      })
    },
    async unwatch() {
      await unwatch?.()
      unwatch = undefined
    },
  }

  async function verifySignature(token: string): Promise<Required<AccessClaims>> {
    // Outside the `try`: a store that cannot be read is a server error, not a refused token.
    await refreshIfStale()
    try {
      // `algorithms` pins EdDSA: `alg: none`, or HS256 keyed with the public key, cannot pass
      // (RFC 8725 §3.1: "libraries MUST enable the caller to specify a supported set of algorithms").
      const { payload, protectedHeader } = await jwtVerify(token, (header) => keyFor(header.kid), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [ALGORITHM],
        typ: 'JWT',
      })
      const { sub, cid, tk, sid, exp } = payload
      if (
        typeof sub !== 'string' ||
        typeof cid !== 'string' ||
        typeof tk !== 'string' ||
        typeof sid !== 'string' ||
        typeof exp !== 'number'
      ) {
        throw new Error('missing claims')
      }
      return { sub, cid, tk, sid, exp, kid: protectedHeader.kid as string }
    } catch {
      // One answer for every failure: which check failed is no business of the caller.
      throw new EngineError(
        'ER_AUTH_TOKEN_INVALID',
        'The token is invalid or has expired; sign in again.',
      )
    }
  }
}
