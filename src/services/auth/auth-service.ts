import { timingSafeEqual } from 'node:crypto'
import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { toApiRecord } from '../records/record-view.js'
import type { PasswordHasher } from './password-hasher.js'
import { tokenKeyFingerprint, type TokenSigner } from './token-signer.js'

export const SUPERUSERS_COLLECTION = '_superusers'
const MAX_IDENTITY_LENGTH = 254
const MAX_PASSWORD_LENGTH = 256

export interface AuthDeps {
  store: Store
  registry: SchemaRegistry
  passwords: PasswordHasher
  tokens: TokenSigner
}

export type AuthService = ReturnType<typeof createAuthService>

/** Signing in with a password, and turning a bearer token back into the caller's identity. */
export function createAuthService(deps: AuthDeps) {
  const { store, registry, passwords, tokens } = deps
  // Verifying against a real hash when the e-mail is unknown keeps both answers equally slow,
  // so response time does not reveal which e-mails have accounts.
  let decoyHash: Promise<string> | undefined
  const decoy = () => (decoyHash ??= passwords.hash('engineroom decoy password'))

  async function authCollection(name: string): Promise<CollectionDef> {
    await registry.refreshIfStale()
    const collection = registry.get(name)
    if (collection.type !== 'auth') {
      throw new EngineError('ER_COLLECTION_NOT_FOUND', `"${name}" is not an auth collection.`)
    }
    return collection
  }

  /** `POST /api/collections/{name}/auth/password` with `{ identity, password }`. */
  async function loginWithPassword(
    name: string,
    body: unknown,
  ): Promise<{ token: string; record: Row }> {
    const collection = await authCollection(name)
    const { identity, password } = (body ?? {}) as { identity?: unknown; password?: unknown }
    if (typeof identity !== 'string' || identity === '' || identity.length > MAX_IDENTITY_LENGTH) {
      throw invalid('identity', 'must be the account e-mail')
    }
    if (typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) {
      throw invalid('password', `must be a string of 1-${MAX_PASSWORD_LENGTH} characters`)
    }
    // E-mails are stored lower-cased, so this exact match is case-insensitive.
    const [row] = await store.selectByColumn(collection, 'email', identity.toLowerCase(), 1)
    const ok = row
      ? await passwords.verify(row.password as string, password)
      : (await passwords.verify(await decoy(), password), false)
    if (!row || !ok) {
      throw new EngineError('ER_AUTH_INVALID_CREDENTIALS', 'The e-mail or password is wrong.')
    }
    const token = await tokens.sign({
      sub: row.id as string,
      cid: collection.id,
      tk: tokenKeyFingerprint(row.tokenKey as string),
    })
    return {
      token,
      record: toApiRecord(collection, row, collection.name === SUPERUSERS_COLLECTION),
    }
  }

  /** The identity behind `Authorization: Bearer <token>`, or ER_AUTH_TOKEN_INVALID. */
  async function identify(token: string): Promise<AuthIdentity> {
    const claims = await tokens.verify(token)
    await registry.refreshIfStale()
    const collection = registry.findById(claims.cid)
    const [row] =
      collection?.type === 'auth' ? await store.selectByIds(collection, [claims.sub]) : []
    if (
      !collection ||
      !row ||
      !sameFingerprint(tokenKeyFingerprint(row.tokenKey as string), claims.tk)
    ) {
      throw new EngineError(
        'ER_AUTH_TOKEN_INVALID',
        'The token is invalid or has expired; sign in again.',
      )
    }
    return {
      collection,
      record: toApiRecord(collection, row, false),
      isSuperuser: collection.name === SUPERUSERS_COLLECTION,
    }
  }

  return { loginWithPassword, identify }
}

function sameFingerprint(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

function invalid(field: string, message: string): EngineError {
  return new EngineError('ER_VALIDATION_FAILED', `${field}: ${message}`, {
    errors: { [field]: [{ code: 'invalid', message }] },
  })
}
