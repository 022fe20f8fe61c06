import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { ApiKeyRow, ApiKeyScope, Row, Store } from '../../adapters/store/store.js'
import type { AuthIdentity } from '../context.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { toApiRecord } from '../records/record-view.js'
import { hashToken, isOpaqueToken, newOpaqueToken } from './secret-tokens.js'

/** API keys start with this, so `Authorization: Bearer erk_…` is told apart from a JWT at once. */
export const API_KEY_PREFIX = 'erk_'
const OPERATIONS = ['list', 'view', 'create', 'update', 'delete'] as const
const MAX_SCOPES = 50
const MAX_KEYS_LISTED = 200
const MAX_NAME_LENGTH = 100
const DEFAULT_DAYS = 90
const MAX_DAYS = 366
const SUPERUSERS = '_superusers'

export interface ApiKeyDeps {
  store: Store
  registry: SchemaRegistry
  clock: Clock
  authCollection(name: string): Promise<CollectionDef>
}

/** A key as listed: everything but the key itself, which is shown only at creation. */
export type ApiKeyView = Omit<ApiKeyRow, 'hash' | 'collectionId' | 'recordId'> & { record: string }

const viewOf = (row: ApiKeyRow): ApiKeyView => ({
  id: row.id,
  name: row.name,
  record: row.recordId,
  scopes: row.scopes,
  created: row.created,
  expires: row.expires,
  revoked: row.revoked,
})

const keyInvalid = () =>
  new EngineError('ER_AUTH_TOKEN_INVALID', 'The API key is invalid, expired or revoked.')

/**
 * Scoped, expiring, revocable API keys for server-to-server calls. Stored as SHA-256 hashes of
 * 256-bit random keys; a key acts as its owner record, narrowed to its scopes (services check
 * them with `requireScope`), and can never manage keys, sessions or the schema.
 */
export function createApiKeys(deps: ApiKeyDeps) {
  const { store, registry, clock } = deps

  function readScopes(value: unknown): ApiKeyScope[] {
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SCOPES) {
      throw invalidField('scopes', 'invalid', `must list 1-${MAX_SCOPES} scopes`)
    }
    return value.map((item: unknown, i) => {
      const { collection, operations } = (item ?? {}) as Record<string, unknown>
      if (
        typeof collection !== 'string' ||
        !/^(\*|[A-Za-z_][A-Za-z0-9_]{0,62})$/.test(collection)
      ) {
        throw invalidField(`scopes.${i}.collection`, 'invalid', 'must be a collection name or *')
      }
      if (
        !Array.isArray(operations) ||
        operations.length === 0 ||
        !operations.every((op) => (OPERATIONS as readonly unknown[]).includes(op))
      ) {
        throw invalidField(
          `scopes.${i}.operations`,
          'invalid',
          `must list some of ${OPERATIONS.join(', ')}`,
        )
      }
      return { collection, operations: [...new Set(operations)] as ApiKeyScope['operations'] }
    })
  }

  /** The record that will own (or owns) keys: the caller, or for a superuser any record named. */
  async function ownerOf(
    collection: CollectionDef,
    identity: AuthIdentity | null,
    recordId: unknown,
  ) {
    if (!identity) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to manage API keys.')
    if (identity.apiKey) throw new EngineError('ER_FORBIDDEN', 'An API key cannot manage API keys.')
    if (recordId === undefined) {
      if (identity.collection.id !== collection.id) {
        throw new EngineError('ER_FORBIDDEN', `Sign in as a record of "${collection.name}".`)
      }
      return identity.record.id as string
    }
    if (!identity.isSuperuser)
      throw new EngineError('ER_FORBIDDEN', 'Only superusers manage keys of others.')
    if (typeof recordId !== 'string' || recordId.length > 64)
      throw invalidField('record', 'type', 'must be a record id')
    const [row] = await store.selectByIds(collection, [recordId])
    if (!row)
      throw new EngineError(
        'ER_RECORD_NOT_FOUND',
        `No record "${recordId}" in "${collection.name}".`,
      )
    return recordId
  }

  return {
    /** `POST /auth/api-keys` `{ name, scopes, expiresInDays?, record? }`: the key, shown once. */
    async create(name: string, identity: AuthIdentity | null, body: unknown) {
      const collection = await deps.authCollection(name)
      const input = (body ?? {}) as Record<string, unknown>
      const recordId = await ownerOf(collection, identity, input.record)
      if (
        typeof input.name !== 'string' ||
        input.name.trim() === '' ||
        input.name.length > MAX_NAME_LENGTH
      ) {
        throw invalidField('name', 'invalid', `must be 1-${MAX_NAME_LENGTH} characters`)
      }
      const scopes = readScopes(input.scopes)
      const days = input.expiresInDays ?? DEFAULT_DAYS
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
        throw invalidField(
          'expiresInDays',
          'range',
          `must be a whole number of days from 1 to ${MAX_DAYS}`,
        )
      }
      const now = clock.now()
      const key = newOpaqueToken(API_KEY_PREFIX)
      const row: ApiKeyRow = {
        id: newId(now.getTime()),
        hash: hashToken(key),
        collectionId: collection.id,
        recordId,
        name: input.name.trim(),
        scopes,
        created: now.toISOString(),
        expires: new Date(now.getTime() + days * 86_400_000).toISOString(),
        revoked: null,
      }
      await store.auth.insertApiKey(row)
      return { ...viewOf(row), key }
    },

    /** `GET /auth/api-keys[?record=]`: the owner's keys, without the keys themselves. */
    async list(name: string, identity: AuthIdentity | null, recordId?: string) {
      const collection = await deps.authCollection(name)
      const owner = await ownerOf(collection, identity, recordId)
      const rows = await store.auth.listApiKeys(collection.id, owner, MAX_KEYS_LISTED)
      return { items: rows.map(viewOf) }
    },

    /** `DELETE /auth/api-keys/{id}[?record=]`. */
    async revoke(name: string, identity: AuthIdentity | null, id: string, recordId?: string) {
      const collection = await deps.authCollection(name)
      const owner = await ownerOf(collection, identity, recordId)
      if (!(await store.auth.revokeApiKey(id, collection.id, owner, clock.now().toISOString()))) {
        throw new EngineError('ER_RECORD_NOT_FOUND', `No live API key "${id}".`)
      }
    },

    /** The identity behind `Authorization: Bearer erk_…`, or ER_AUTH_TOKEN_INVALID. */
    async identify(key: string): Promise<AuthIdentity> {
      if (!isOpaqueToken(key, API_KEY_PREFIX)) throw keyInvalid()
      // Looked up by hash: equality on a SHA-256 of a 256-bit secret leaks nothing usable by timing.
      const row = await store.auth.getApiKeyByHash(hashToken(key))
      if (!row || row.revoked !== null || row.expires <= clock.now().toISOString())
        throw keyInvalid()
      await registry.refreshIfStale()
      const collection = registry.findById(row.collectionId)
      const [record]: Row[] = collection ? await store.selectByIds(collection, [row.recordId]) : []
      if (!collection || !record) throw keyInvalid()
      return {
        collection,
        record: toApiRecord(collection, record, false),
        isSuperuser: collection.name === SUPERUSERS,
        apiKey: { id: row.id, scopes: row.scopes },
      }
    },
  }
}

export type ApiKeys = ReturnType<typeof createApiKeys>
