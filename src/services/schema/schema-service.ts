import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import {
  validateCollectionPatch,
  validateNewCollection,
} from '../../core/schema/validate-collection.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { Store } from '../../adapters/store/store.js'
import { requireSchemaAdmin } from '../access.js'
import { appendAudit } from '../audit/audit-log.js'
import type { RequestContext } from '../context.js'
import { applySchemaOperation, bumpSchemaVersion } from './apply-operation.js'
import { checkReferences, referencesTo } from './check-references.js'
import {
  nextMigrationName,
  removeMigrationFile,
  writeMigrationFile,
  type MigrationFile,
  type SchemaOperation,
} from './migration-files.js'
import type { SchemaRegistry } from './schema-registry.js'

export interface SchemaServiceDeps {
  store: Store
  registry: SchemaRegistry
  clock: Clock
  /** Where each schema change is written as a migration file (`<data dir>/migrations`). */
  migrationsDir: string
  /** Where a failed announcement of a change is reported (the other nodes' poll still sees it). */
  onBackgroundError?: (error: unknown) => void
}

export type SchemaService = ReturnType<typeof createSchemaService>

/**
 * Collections: create, change, drop. Each change is one transaction (DDL + catalogue) taken under
 * the schema lock and written as a migration file, so the schema can be replayed elsewhere.
 */
export function createSchemaService(deps: SchemaServiceDeps) {
  const { store, registry, clock } = deps

  /** Applies the operations in one transaction and records them as one migration file. */
  async function commitChange(
    ctx: RequestContext,
    slug: string,
    up: SchemaOperation[],
    down: SchemaOperation[],
  ): Promise<void> {
    const now = clock.now()
    // Local to this change: a file written by an earlier, committed change must never be
    // removed because a later one failed.
    let afterRollback: (() => void) | undefined
    await store
      .schemaTransaction(async (tx) => {
        for (const operation of up) await applySchemaOperation(tx, operation)
        const applied = await tx.appliedMigrations()
        const name = nextMigrationName(now, slug, applied.at(-1))
        const migration: MigrationFile = { up, down }
        // The database keeps the content: every node's history is this, not its own folder.
        await tx.recordMigration(name, now.toISOString(), JSON.stringify(migration))
        // In the change's own transaction: the log holds exactly the changes that committed.
        await appendAudit(
          tx,
          ctx,
          {
            action: 'schema.change',
            target: name,
            detail: {
              operations: up.map((o) => ({
                op: o.op,
                collection: 'collection' in o ? o.collection.name : o.to.name,
              })),
            },
          },
          clock,
        )
        await bumpSchemaVersion(tx, now)
        // Written before the commit and removed if the commit fails: a committed change always
        // has its file, and a rolled-back one never does.
        writeMigrationFile(deps.migrationsDir, name, migration)
        afterRollback = () => removeMigrationFile(deps.migrationsDir, name)
      })
      .catch((error: unknown) => {
        afterRollback?.()
        throw error
      })
    await registry.reload()
    // Before the answer: a client that goes on to another node finds it reloading or reloaded.
    await registry.announce().catch(deps.onBackgroundError ?? (() => {}))
  }

  async function listCollections(ctx: RequestContext): Promise<CollectionDef[]> {
    requireSchemaAdmin(ctx)
    await registry.refreshIfStale()
    return registry.list()
  }

  async function getCollection(ctx: RequestContext, name: string): Promise<CollectionDef> {
    requireSchemaAdmin(ctx)
    return registry.getFresh(name)
  }

  async function createCollection(ctx: RequestContext, body: unknown): Promise<CollectionDef> {
    requireSchemaAdmin(ctx)
    await registry.refreshIfStale()
    const def = validateNewCollection(body, clock.now().toISOString())
    if (registry.list().some((c) => c.name.toLowerCase() === def.name.toLowerCase())) {
      throw new EngineError(
        'ER_COLLECTION_EXISTS',
        `A collection named "${def.name}" already exists.`,
        {
          errors: { name: [{ code: 'unique', message: 'is already taken' }] },
        },
      )
    }
    checkReferences(def, registry.list())
    await commitChange(
      ctx,
      `create-${def.name}`,
      [{ op: 'createCollection', collection: def }],
      [{ op: 'deleteCollection', collection: def }],
    )
    return registry.get(def.name)
  }

  async function updateCollection(
    ctx: RequestContext,
    name: string,
    body: unknown,
  ): Promise<CollectionDef> {
    requireSchemaAdmin(ctx)
    const current = await registry.getFresh(name)
    const next = validateCollectionPatch(current, body, clock.now().toISOString())
    const others = registry.list().filter((c) => c.id !== current.id)
    if (
      next.name !== current.name &&
      others.some((c) => c.name.toLowerCase() === next.name.toLowerCase())
    ) {
      throw new EngineError(
        'ER_COLLECTION_EXISTS',
        `A collection named "${next.name}" already exists.`,
        {
          errors: { name: [{ code: 'unique', message: 'is already taken' }] },
        },
      )
    }
    // A rename carries the relation fields that point at the old name along with it.
    const followers =
      next.name === current.name
        ? []
        : relinkRelations(others, current.name, next.name, next.updated)
    const othersAfter = others.map((c) => followers.find((f) => f.id === c.id) ?? c)
    checkReferences(next, othersAfter)
    for (const follower of followers)
      checkReferences(follower, [...othersAfter.filter((c) => c.id !== follower.id), next])
    const up: SchemaOperation[] = [{ op: 'updateCollection', from: current, to: next }]
    const down: SchemaOperation[] = [{ op: 'updateCollection', from: next, to: current }]
    for (const follower of followers) {
      const before = registry.get(others.find((c) => c.id === follower.id)?.name ?? '')
      up.push({ op: 'updateCollection', from: before, to: follower })
      down.unshift({ op: 'updateCollection', from: follower, to: before })
    }
    const slug =
      next.name === current.name
        ? `update-${current.name}`
        : `rename-${current.name}-to-${next.name}`
    await commitChange(ctx, slug, up, down)
    return registry.get(next.name)
  }

  async function deleteCollection(ctx: RequestContext, name: string): Promise<void> {
    requireSchemaAdmin(ctx)
    const current = await registry.getFresh(name)
    if (current.system)
      throw new EngineError(
        'ER_FORBIDDEN',
        `"${name}" is a system collection and cannot be deleted.`,
      )
    const references = referencesTo(name, registry.list())
    if (references.length > 0) {
      const list = references.map((r) => `${r.collection.name}.${r.field}`).join(', ')
      throw new EngineError(
        'ER_SCHEMA_CONFLICT',
        `"${name}" is still the target of relation fields: ${list}. Remove them first.`,
      )
    }
    await commitChange(
      ctx,
      `delete-${name}`,
      [{ op: 'deleteCollection', collection: current }],
      [{ op: 'createCollection', collection: current }],
    )
  }

  /**
   * Imports a whole schema (an array of definitions, as exported): each collection is created or,
   * when one of that name exists, brought to the imported definition. All in one transaction.
   */
  async function importSchema(
    ctx: RequestContext,
    input: unknown,
  ): Promise<{ created: string[]; updated: string[] }> {
    requireSchemaAdmin(ctx)
    await registry.refreshIfStale()
    if (!Array.isArray(input)) {
      throw new EngineError(
        'ER_SCHEMA_INVALID',
        'A schema file must hold a JSON array of collections.',
      )
    }
    const now = clock.now().toISOString()
    const up: SchemaOperation[] = []
    const down: SchemaOperation[] = []
    const after = new Map(registry.list().map((c) => [c.name, c]))
    const created: string[] = []
    const updated: string[] = []
    for (const [index, item] of input.entries()) {
      try {
        const name = (item as { name?: unknown })?.name
        const existing = typeof name === 'string' ? after.get(name) : undefined
        if (existing?.system) continue
        if (existing) {
          const {
            id: _id,
            created: _c,
            updated: _u,
            system: _s,
            type: _t,
            ...patch
          } = item as CollectionDef
          const next = validateCollectionPatch(existing, patch, now)
          up.push({ op: 'updateCollection', from: existing, to: next })
          down.unshift({ op: 'updateCollection', from: next, to: existing })
          after.set(next.name, next)
          updated.push(next.name)
        } else {
          const { created: _c, updated: _u, system: _s, ...rest } = item as CollectionDef
          const def = validateNewCollection(rest, now)
          up.push({ op: 'createCollection', collection: def })
          down.unshift({ op: 'deleteCollection', collection: def })
          after.set(def.name, def)
          created.push(def.name)
        }
      } catch (error) {
        if (error instanceof EngineError) {
          throw new EngineError(error.code, `Collection ${index}: ${error.message}`, {
            errors: error.errors,
            extra: { index },
          })
        }
        throw error
      }
    }
    const all = [...after.values()]
    for (const def of all)
      checkReferences(
        def,
        all.filter((c) => c.id !== def.id),
      )
    if (up.length > 0) await commitChange(ctx, 'import-schema', orderForCreation(up), down)
    return { created, updated }
  }

  /**
   * Checks a definition as `createCollection` (no `name`) or `updateCollection(name)` would,
   * and writes nothing: editors call it as the user types, to show the same errors (a rule's
   * position included) before anything is saved. Name clashes are left to the real write.
   */
  async function checkNewCollection(ctx: RequestContext, body: unknown): Promise<void> {
    requireSchemaAdmin(ctx)
    await registry.refreshIfStale()
    checkReferences(validateNewCollection(body, clock.now().toISOString()), registry.list())
  }

  async function checkCollectionUpdate(
    ctx: RequestContext,
    name: string,
    body: unknown,
  ): Promise<void> {
    requireSchemaAdmin(ctx)
    await registry.refreshIfStale()
    const current = registry.get(name)
    const next = validateCollectionPatch(current, body, clock.now().toISOString())
    checkReferences(
      next,
      registry.list().filter((c) => c.id !== current.id),
    )
  }

  function exportSchema(ctx: RequestContext): CollectionDef[] {
    requireSchemaAdmin(ctx)
    return registry.list().filter((c) => !c.system)
  }

  return {
    listCollections,
    getCollection,
    createCollection,
    updateCollection,
    deleteCollection,
    importSchema,
    exportSchema,
    checkNewCollection,
    checkCollectionUpdate,
  }
}

function relinkRelations(
  collections: CollectionDef[],
  from: string,
  to: string,
  now: string,
): CollectionDef[] {
  return collections
    .filter((c) => c.fields.some((f) => f.type === 'relation' && f.collection === from))
    .map((c) => ({
      ...c,
      updated: now,
      fields: c.fields.map((f) =>
        f.type === 'relation' && f.collection === from ? { ...f, collection: to } : f,
      ),
    }))
}

/** Creations before updates, so relation fields may point at collections created by the same import. */
function orderForCreation(operations: SchemaOperation[]): SchemaOperation[] {
  return [
    ...operations.filter((o) => o.op === 'createCollection'),
    ...operations.filter((o) => o.op !== 'createCollection'),
  ]
}
