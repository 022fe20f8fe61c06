import { EngineError } from '../../core/errors/index.js'
import { isMultiValued } from '../../core/schema/field-info.js'
import type { CollectionDef, RelationField } from '../../core/schema/types.js'
import { SUPERUSERS } from '../../core/schema/system-collections.js'
import type { ChangeActor, Row, StoreSession } from '../../adapters/store/store.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { changeSnapshot } from './record-view.js'
import { hasFileFields } from './record-files.js'

/** Deleting more than this many records through cascades in one request is refused. */
export const MAX_CASCADE_DELETES = 10_000

/**
 * Deletes a record and applies every relation's `onDelete` to the records pointing at it:
 * `restrict` refuses (409, naming the field), `setNull` removes the reference, `cascade` deletes
 * the referencing records in turn. All inside the caller's transaction, so it is all or nothing.
 */
export async function deleteWithRelations(
  tx: StoreSession,
  registry: SchemaRegistry,
  collection: CollectionDef,
  row: Row,
  now: string,
  /** Who asked for the delete; the cascaded changes are theirs too. */
  actor?: ChangeActor,
): Promise<void> {
  const deleted = new Set<string>()
  const queue: { collection: CollectionDef; id: string; row: Row }[] = [
    { collection, id: row.id as string, row },
  ]
  while (queue.length > 0) {
    const item = queue.shift() as { collection: CollectionDef; id: string; row: Row }
    const key = `${item.collection.id}/${item.id}`
    if (deleted.has(key)) continue
    deleted.add(key)
    if (deleted.size > MAX_CASCADE_DELETES) {
      throw new EngineError(
        'ER_RELATION_RESTRICTED',
        `Deleting this record would cascade to more than ${MAX_CASCADE_DELETES} records.`,
      )
    }
    for (const { source, field } of incomingRelations(registry, item.collection)) {
      const referencing = await tx.selectReferencing(source, field, [item.id])
      const others = referencing.filter((r) => !deleted.has(`${source.id}/${r.id as string}`))
      if (others.length === 0) continue
      const onDelete = field.onDelete ?? 'setNull'
      if (onDelete === 'restrict') {
        throw new EngineError(
          'ER_RELATION_RESTRICTED',
          `"${source.name}.${field.name}" of record "${others[0]?.id}" still refers to it; delete or change that first.`,
          {
            errors: {
              [`${source.name}.${field.name}`]: [
                { code: 'restrict', message: 'still refers to this record' },
              ],
            },
          },
        )
      }
      for (const record of others) {
        if (onDelete === 'cascade') {
          queue.push({ collection: source, id: record.id as string, row: record })
          continue
        }
        const value = isMultiValued(field)
          ? (record[field.name] as string[]).filter((v) => v !== item.id)
          : null
        await tx.updateRecord(source, record.id as string, { [field.name]: value, updated: now })
        const after = { ...record, [field.name]: value, updated: now }
        tx.recordChange({
          collection: source.name,
          recordId: record.id as string,
          action: 'update',
          record: changeSnapshot(source, after),
          ...(actor ? { actor } : {}),
        })
      }
    }
    await tx.deleteRecord(item.collection, item.id)
    // Its blobs are deleted once this commits (see the files service's deletion drain).
    if (hasFileFields(item.collection)) await tx.files.markDeleted(item.collection.id, item.id, now)
    // The snapshot before deletion: who may see the delete is decided on it.
    tx.recordChange({
      collection: item.collection.name,
      recordId: item.id,
      action: 'delete',
      record: changeSnapshot(item.collection, item.row),
      ...(actor ? { actor } : {}),
    })
  }
  if ([...deleted].some((key) => key.startsWith(`${SUPERUSERS.id}/`))) {
    await requireASuperuserLeft(tx, registry)
  }
}

/**
 * Refuses a delete that leaves no superuser. Counted under a lock held until commit: two
 * transactions deleting the last two superusers at once would each still see the other's
 * (PostgreSQL's read committed), and both commit. With the lock the second counts after the
 * first has committed. Inside the transaction: throwing rolls the whole delete back.
 */
async function requireASuperuserLeft(tx: StoreSession, registry: SchemaRegistry): Promise<void> {
  await tx.lockKey('last-superuser')
  if ((await tx.countRecords(registry.get(SUPERUSERS.name), [])) === 0) {
    throw new EngineError(
      'ER_LAST_SUPERUSER',
      'This is the last superuser: add another first (engineroom superuser create <email> <password>), then delete this one.',
    )
  }
}

function incomingRelations(
  registry: SchemaRegistry,
  target: CollectionDef,
): { source: CollectionDef; field: RelationField }[] {
  const out: { source: CollectionDef; field: RelationField }[] = []
  for (const source of registry.list()) {
    for (const field of source.fields) {
      if (field.type === 'relation' && field.collection === target.name) out.push({ source, field })
    }
  }
  return out
}
