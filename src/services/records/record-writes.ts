import { randomBytes } from 'node:crypto'
import { EngineError, type FieldIssues } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RecordInput } from '../../core/schema/validate-record.js'
import type { Row, StoreSession } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { PasswordHasher } from '../auth/password-hasher.js'
import { uniqueConflict } from '../../adapters/store/unique-conflict.js'

/** A fresh secret per auth record; changing it (on password change) invalidates its tokens. */
export function newTokenKey(): string {
  return randomBytes(24).toString('base64url')
}

/** Hashes the password of an auth-collection input, outside any transaction (it is slow by design). */
export async function hashInputPassword(
  collection: CollectionDef,
  input: RecordInput,
  passwords: PasswordHasher,
): Promise<Row> {
  const values: Row = { ...input.values }
  if (collection.type === 'auth' && input.password !== undefined) {
    values.password = await passwords.hash(input.password)
    values.tokenKey = newTokenKey()
  }
  return values
}

/** Sets autodate fields: on create all that have onCreate, on update those with onUpdate. */
export function stampDates(
  collection: CollectionDef,
  values: Row,
  now: string,
  creating: boolean,
): void {
  values.updated = now
  if (creating) values.created = now
  for (const field of collection.fields) {
    if (field.type === 'autodate' && (creating ? field.onCreate : field.onUpdate))
      values[field.name] = now
  }
}

/** A new record's full row: id, dates, and empty values for fields not sent. */
export function newRow(
  collection: CollectionDef,
  input: RecordInput,
  values: Row,
  now: string,
): Row {
  const row: Row = { id: input.id ?? newId(), ...values }
  stampDates(collection, row, now, true)
  if (collection.type === 'auth') row.verified ??= false
  return row
}

/** Every relation id written must name an existing record of the target collection. */
export async function checkRelationsExist(
  tx: StoreSession,
  registry: SchemaRegistry,
  collection: CollectionDef,
  values: Row,
  selfId: string,
): Promise<void> {
  const issues: FieldIssues = {}
  for (const field of collection.fields) {
    if (field.type !== 'relation' || !(field.name in values)) continue
    const value = values[field.name]
    const ids = Array.isArray(value)
      ? (value as string[])
      : typeof value === 'string'
        ? [value]
        : []
    if (ids.length === 0) continue
    const target = registry.get(field.collection)
    // A self-relation may point at the record being created, which is not stored yet.
    const pending = target.id === collection.id ? ids.filter((id) => id !== selfId) : ids
    const found = new Set((await tx.selectByIds(target, pending)).map((r) => r.id as string))
    const missing = pending.filter((id) => !found.has(id))
    if (missing.length > 0) {
      ;(issues[field.name] ??= []).push({
        code: 'relation',
        message: `no record ${missing
          .slice(0, 3)
          .map((m) => `"${m}"`)
          .join(', ')} in "${target.name}"`,
      })
    }
  }
  if (Object.keys(issues).length > 0) {
    const [first] = Object.keys(issues) as [string]
    throw new EngineError('ER_RELATION_MISSING', `${first}: ${issues[first]?.[0]?.message}.`, {
      errors: issues,
    })
  }
}

/**
 * A caller is its collection and its id, and rules compare them so; still, an id chosen by a
 * client for a new auth record must not be one that a record of another auth collection has, so
 * that nothing keyed by id alone (an extension's `record.owner === caller.id`, a text field
 * holding an id) can mistake one account for another. Generated ids are unique already.
 * Held under a lock on the id (`lockAuthId`) until commit, so two collections cannot take it
 * at once.
 */
export function lockAuthId(tx: StoreSession, id: string): Promise<void> {
  return tx.lockKey(`auth-record-id:${id}`)
}

/**
 * The check itself, once the write's rule has let it through (so that a caller the rule refuses
 * learns nothing of which ids other collections hold), under `lockAuthId` taken before the insert.
 */
export async function checkAuthIdFree(
  tx: StoreSession,
  registry: SchemaRegistry,
  collection: CollectionDef,
  id: string,
): Promise<void> {
  for (const other of registry.list()) {
    if (other.type !== 'auth' || other.id === collection.id) continue
    if ((await tx.selectByIds(other, [id])).length > 0) throw uniqueConflict(collection, ['id'])
  }
}
