import type { ChangeInput, Row, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { EngineError } from '../../core/errors/index.js'
import type { RequestContext } from '../context.js'
import { actorOf } from '../context.js'
import { sudoContext } from '../extensions/records-client.js'
import { changeSnapshot } from '../records/record-view.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { PrivacySubject } from './privacy-export.js'
import { appendAudit } from '../audit/audit-log.js'

/** Records one relation may hold of a person before an erase is refused (not cut short). */
const MAX_PER_RELATION = 10_000

export interface EraseDeps {
  registry: SchemaRegistry
  /** The engine's clock: when personal fields were cleared, and the audit entry's time. */
  clock: Clock
  records: Pick<RecordsService, 'transaction' | 'remove' | 'settle'>
}

/** What an erase did, per collection: records deleted, and records whose personal data went. */
export interface EraseSummary {
  subject: { collection: string; id: string }
  deleted: Record<string, number>
  cleared: Record<string, number>
  /** Sessions, refresh and one-time tokens, TOTP, API keys and provider links removed. */
  credentials: number
  /** Consent changes removed (the audit entry keeps that there were this many). */
  consents: number
}

/**
 * Erases `subject`, all in one transaction: each record of another collection that belongs to
 * the person alone through a relation that does not cascade (`setNull`, the default) has its
 * `personal` fields emptied; then the person's auth record is deleted through the records
 * service as a superuser, so every relation's `onDelete` applies exactly as for any delete
 * (`cascade` deletes, `setNull` removes the reference, `restrict` refuses and nothing changes);
 * then every credential of the person goes, and their consent history (its ip and user agent
 * are theirs too; the audit entry keeps how many changes there were). Blobs of deleted records go after commit.
 *
 * A record shared through a multi-valued relation (a group with several members) keeps its
 * personal fields: they are the other members' data too. Only the person's id is removed.
 */
export async function erasePersonalData(
  deps: EraseDeps,
  ctx: RequestContext,
  subject: PrivacySubject,
): Promise<EraseSummary> {
  const summary: EraseSummary = {
    subject: { collection: subject.collection.name, id: subject.id },
    deleted: {},
    cleared: {},
    credentials: 0,
    consents: 0,
  }
  const sudo = sudoContext(deps.registry, ctx)
  const cleared = new Map<string, Set<string>>()
  await deps.records.transaction(async (tx) => {
    const [self] = await tx.selectByIds(subject.collection, [subject.id])
    if (!self) {
      throw new EngineError(
        'ER_RECORD_NOT_FOUND',
        `No record "${subject.id}" in "${subject.collection.name}".`,
      )
    }
    const now = deps.clock.now().toISOString()
    for (const collection of deps.registry.list()) {
      if (collection.name === subject.collection.name) continue
      const personal = collection.fields.filter((f) => f.personal)
      if (personal.length === 0) continue
      for (const field of collection.fields) {
        if (field.type !== 'relation' || field.collection !== subject.collection.name) continue
        if ((field.onDelete ?? 'setNull') !== 'setNull') continue
        const rows = await tx.selectReferencing(
          collection,
          field,
          [subject.id],
          [],
          MAX_PER_RELATION + 1,
        )
        if (rows.length > MAX_PER_RELATION) {
          throw new EngineError(
            'ER_VALIDATION_FAILED',
            `More than ${MAX_PER_RELATION} records of "${collection.name}" refer to this person through "${field.name}": delete some first.`,
          )
        }
        for (const row of rows) {
          if (!onlyPerson(row[field.name], subject.id)) continue
          await clearPersonal(tx, ctx, collection, row, now)
          const ids = cleared.get(collection.name) ?? new Set()
          cleared.set(collection.name, ids.add(String(row.id)))
        }
      }
    }
    await deps.records.remove(sudo, subject.collection.name, subject.id, counting(tx, summary))
    summary.credentials = await tx.auth.forgetRecord(subject.collection.id, subject.id)
    summary.consents = await tx.consents.forget(subject.collection.id, subject.id)
    for (const [name, ids] of cleared) summary.cleared[name] = ids.size
    await appendAudit(
      tx,
      ctx,
      {
        action: 'privacy.erase',
        target: `${subject.collection.name}/${subject.id}`,
        detail: {
          deleted: summary.deleted,
          cleared: summary.cleared,
          credentials: summary.credentials,
          consents: summary.consents,
        },
      },
      deps.clock,
    )
  })
  // The deleted records' files were marked in the transaction; this wakes their deletion.
  deps.records.settle([], [])
  return summary
}

/** True when a relation value names the person and nobody else. */
function onlyPerson(value: unknown, id: string): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every((v) => v === id)
  return value === id
}

/**
 * Empties a record's personal fields (null, or no items for a multi-valued field) inside `tx`,
 * with its change event; its personal files' blobs go after commit (`records.settle`).
 */
export async function clearPersonal(
  tx: StoreSession,
  ctx: RequestContext,
  collection: CollectionDef,
  row: Row,
  now: string,
): Promise<void> {
  const values: Row = { updated: now }
  const files: string[] = []
  for (const field of collection.fields) {
    if (!field.personal) continue
    values[field.name] = isMultiValued(field) ? [] : null
    const value = row[field.name]
    if (field.type === 'file') files.push(...(Array.isArray(value) ? value : [value]).map(String))
  }
  await tx.updateRecord(collection, String(row.id), values)
  // A personal file's blob goes after commit with those of deleted records.
  const named = files.filter((name) => name !== '' && name !== 'null' && name !== 'undefined')
  if (named.length > 0) await tx.files.markDeleted(collection.id, String(row.id), now, named)
  const actor = actorOf(ctx)
  tx.recordChange({
    collection: collection.name,
    recordId: String(row.id),
    action: 'update',
    record: changeSnapshot(collection, { ...row, ...values }),
    ...(actor ? { actor } : {}),
  })
}

/**
 * The transaction as the records service sees it, counting the deletes it reports per
 * collection (cascades included). Methods are bound to the real session: its private state
 * is not reachable through a proxy.
 */
function counting(tx: StoreSession, summary: EraseSummary): StoreSession {
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === 'recordChange') {
        return (change: ChangeInput) => {
          if (change.action === 'delete') {
            summary.deleted[change.collection] = (summary.deleted[change.collection] ?? 0) + 1
          }
          target.recordChange(change)
        }
      }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
}
