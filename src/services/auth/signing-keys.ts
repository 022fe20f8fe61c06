import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { EngineError } from '../../core/errors/index.js'
import type { StoreSession } from '../../adapters/store/store.js'
import type { Bus } from '../../adapters/bus/bus.js'

const KEYS_SETTING = 'jwt_signing_keys'

/**
 * The bus channel on which a process that changed the keys tells every node to re-read them
 * (`TokenSigner.watch`); the message carries nothing, the store holds the keys.
 */
export const SIGNING_KEYS_CHANNEL = 'signing-keys'
export const ALGORITHM = 'EdDSA'

/** A signing key as kept in `_settings` (the private JWK never leaves the server). */
interface StoredKey {
  kid: string
  privateJwk: JWK
  created: string
}

export interface SigningKeySet {
  current: { kid: string; privateKey: CryptoKey }
  byKid: Map<string, { publicKey: CryptoKey; publicJwk: JWK }>
}

async function newKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true })
  const created = new Date()
  return {
    // Time-ordered and unique enough for a handful of keys; the random tail avoids two nodes
    // rotating in the same millisecond producing one kid for two keys.
    kid: `k${created.getTime().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    privateJwk: await exportJWK(privateKey),
    created: created.toISOString(),
  }
}

/** The stored keys, oldest first; with `create`, makes the first key if there is none. */
export async function readSigningKeys(store: StoreSession, create = false): Promise<StoredKey[]> {
  const text = await store.getSetting(KEYS_SETTING)
  if (text) return JSON.parse(text) as StoredKey[]
  if (!create) return []
  // Another node may race us: whichever insert won is the key everyone uses.
  const stored = await store.initSetting(KEYS_SETTING, JSON.stringify([await newKey()]))
  return JSON.parse(stored) as StoredKey[]
}

export async function importSigningKeys(stored: StoredKey[]): Promise<SigningKeySet> {
  const byKid: SigningKeySet['byKid'] = new Map()
  for (const key of stored) {
    const { d: _d, ...publicJwk } = key.privateJwk
    byKid.set(key.kid, {
      publicKey: (await importJWK(publicJwk, ALGORITHM)) as CryptoKey,
      publicJwk: { ...publicJwk, kid: key.kid, alg: ALGORITHM, use: 'sig' },
    })
  }
  const newest = stored[stored.length - 1] as StoredKey
  return {
    current: {
      kid: newest.kid,
      privateKey: (await importJWK(newest.privateJwk, ALGORITHM)) as CryptoKey,
    },
    byKid,
  }
}

/** Public facts about the keys, for `engineroom keys list`. */
export async function listSigningKeys(
  store: StoreSession,
): Promise<{ kid: string; created: string; signing: boolean }[]> {
  const stored = await readSigningKeys(store)
  return stored.map((k, i) => ({
    kid: k.kid,
    created: k.created,
    signing: i === stored.length - 1,
  }))
}

/**
 * Adds a new key that signs from now on; older keys keep verifying tokens already issued until
 * removed. Nodes pick the new key up when told (`announceSigningKeysChange`), else within a
 * minute (or at once on meeting its kid).
 */
export async function rotateSigningKey(store: StoreSession): Promise<string> {
  const stored = await readSigningKeys(store, true)
  const key = await newKey()
  await store.setSetting(KEYS_SETTING, JSON.stringify([...stored, key]))
  return key.kid
}

/**
 * Removes a retired key: tokens it signed stop verifying, on a node once it re-reads the keys
 * (told by `announceSigningKeysChange`, else within a minute). The signing key cannot be removed.
 */
export async function removeSigningKey(store: StoreSession, kid: string): Promise<void> {
  const stored = await readSigningKeys(store)
  const index = stored.findIndex((k) => k.kid === kid)
  if (index === -1) throw new EngineError('ER_RECORD_NOT_FOUND', `No signing key "${kid}".`)
  if (index === stored.length - 1) {
    throw new EngineError(
      'ER_VALIDATION_FAILED',
      `"${kid}" is the key that signs now; rotate first, then remove it.`,
      { errors: { kid: [{ code: 'signing_key', message: 'is the current signing key' }] } },
    )
  }
  await store.setSetting(KEYS_SETTING, JSON.stringify(stored.filter((k) => k.kid !== kid)))
}

/**
 * Tells every node on `bus` to re-read the keys now, after `rotateSigningKey` or
 * `removeSigningKey` committed.
 *
 * @example
 *   await removeSigningKey(store, leakedKid)
 *   await announceSigningKeysChange(bus)
 */
export async function announceSigningKeysChange(bus: Bus): Promise<void> {
  await bus.publish(SIGNING_KEYS_CHANNEL, '')
}
