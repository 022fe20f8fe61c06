import { createHash } from 'node:crypto'
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type CryptoKey,
} from 'jose'
import { EngineError } from '../../core/errors/index.js'
import type { StoreSession } from '../../adapters/store/store.js'

const KEYS_SETTING = 'jwt_signing_keys'
const ISSUER = 'engineroom'
const AUDIENCE = 'engineroom:api'
/** Only this algorithm is accepted on verify: `alg: none` or HS256 with the public key cannot pass. */
const ALGORITHM = 'EdDSA'

interface StoredKey {
  kid: string
  privateJwk: JWK
  created: string
}

/** The claims an access token carries. */
export interface AccessClaims {
  /** Record id. */
  sub: string
  /** Collection id of the record. */
  cid: string
  /** Fingerprint of the record's tokenKey: a password change makes older tokens invalid. */
  tk: string
}

export interface TokenSigner {
  sign(claims: AccessClaims): Promise<string>
  verify(token: string): Promise<AccessClaims>
  /** Public keys for `/.well-known/jwks.json`. */
  publicJwks(): JWK[]
}

/** A short, non-reversible fingerprint of a record's tokenKey, for the `tk` claim. */
export function tokenKeyFingerprint(tokenKey: string): string {
  return createHash('sha256').update(tokenKey).digest('base64url').slice(0, 22)
}

/**
 * Access tokens: JWTs signed with Ed25519 under a `kid`. The key pair is created on first start
 * and kept in the store's settings, so every node sharing the database signs and verifies alike.
 *
 * @example
 *   const signer = await loadTokenSigner(store, { ttlSeconds: 3600 })
 *   const token = await signer.sign({ sub: user.id, cid: users.id, tk: tokenKeyFingerprint(user.tokenKey) })
 */
export async function loadTokenSigner(
  store: StoreSession,
  options: { ttlSeconds: number },
): Promise<TokenSigner> {
  let stored = await readKeys(store)
  if (stored.length === 0) {
    const { privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true })
    const key: StoredKey = {
      kid: `k${Date.now().toString(36)}`,
      privateJwk: await exportJWK(privateKey),
      created: new Date().toISOString(),
    }
    // Another node may race us: whichever insert won is the key everyone uses.
    stored = JSON.parse(await store.initSetting(KEYS_SETTING, JSON.stringify([key]))) as StoredKey[]
  }
  const keys = new Map<string, { privateKey: CryptoKey; publicKey: CryptoKey; publicJwk: JWK }>()
  for (const key of stored) {
    const { d: _d, ...publicJwk } = key.privateJwk
    keys.set(key.kid, {
      privateKey: (await importJWK(key.privateJwk, ALGORITHM)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, ALGORITHM)) as CryptoKey,
      publicJwk: { ...publicJwk, kid: key.kid, alg: ALGORITHM, use: 'sig' },
    })
  }
  const current = stored[stored.length - 1] as StoredKey
  const signingKey = keys.get(current.kid)?.privateKey as CryptoKey

  return {
    sign: (claims) =>
      new SignJWT({ cid: claims.cid, tk: claims.tk })
        .setProtectedHeader({ alg: ALGORITHM, kid: current.kid, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(signingKey),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(
          token,
          async (header) => {
            const key = header.kid ? keys.get(header.kid) : undefined
            if (!key) throw new Error('unknown kid')
            return key.publicKey
          },
          { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALGORITHM] },
        )
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.cid !== 'string' ||
          typeof payload.tk !== 'string'
        ) {
          throw new Error('missing claims')
        }
        return { sub: payload.sub, cid: payload.cid, tk: payload.tk }
      } catch {
        // One answer for every failure: which check failed is no business of the caller.
        throw new EngineError(
          'ER_AUTH_TOKEN_INVALID',
          'The token is invalid or has expired; sign in again.',
        )
      }
    },
    publicJwks: () => [...keys.values()].map((k) => k.publicJwk),
  }
}

async function readKeys(store: StoreSession): Promise<StoredKey[]> {
  const text = await store.getSetting(KEYS_SETTING)
  return text ? (JSON.parse(text) as StoredKey[]) : []
}
