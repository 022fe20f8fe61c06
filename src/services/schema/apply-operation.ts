import { EngineError } from '../../core/errors/index.js'
import type { StoreSession } from '../../adapters/store/store.js'
import type { SchemaOperation } from './migration-files.js'
import { SCHEMA_VERSION_KEY } from './schema-registry.js'

/**
 * Applies one schema operation inside the caller's transaction: the table DDL and the catalogue
 * row change together. An `updateCollection` whose `from` no longer matches the stored
 * definition means the database has drifted from the migration history, which we refuse.
 */
export async function applySchemaOperation(
  tx: StoreSession,
  operation: SchemaOperation,
): Promise<void> {
  const current = new Map((await tx.listCollections()).map((c) => [c.id, c]))
  switch (operation.op) {
    case 'createCollection': {
      const def = operation.collection
      if (
        current.has(def.id) ||
        [...current.values()].some((c) => c.name.toLowerCase() === def.name.toLowerCase())
      ) {
        throw new EngineError(
          'ER_COLLECTION_EXISTS',
          `A collection named "${def.name}" already exists.`,
          {
            errors: { name: [{ code: 'unique', message: 'is already taken' }] },
          },
        )
      }
      await tx.migrateCollectionTable(null, def)
      await tx.insertCollection(def)
      break
    }
    case 'updateCollection': {
      const stored = current.get(operation.from.id)
      if (!stored || stored.name !== operation.from.name) {
        throw new EngineError(
          'ER_SCHEMA_CONFLICT',
          `Collection "${operation.from.name}" is not in the state this change expects.`,
        )
      }
      await tx.migrateCollectionTable(stored, operation.to)
      await tx.updateCollection(operation.to)
      break
    }
    case 'deleteCollection': {
      const stored = current.get(operation.collection.id)
      if (!stored)
        throw new EngineError(
          'ER_COLLECTION_NOT_FOUND',
          `There is no collection "${operation.collection.name}".`,
        )
      await tx.migrateCollectionTable(stored, null)
      await tx.deleteCollection(stored.id)
      break
    }
  }
}

/** Marks the schema as changed so that every node reloads it. */
export async function bumpSchemaVersion(tx: StoreSession, now: Date): Promise<void> {
  await tx.setSetting(
    SCHEMA_VERSION_KEY,
    `${now.toISOString()}-${Math.random().toString(36).slice(2, 10)}`,
  )
}
