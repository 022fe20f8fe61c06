import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { StoreSession } from '../../adapters/store/store.js'

/** The settings key whose value changes with every schema change, on every node. */
export const SCHEMA_VERSION_KEY = 'schema_version'

/**
 * The live schema, held in memory so that no request reads the catalogue. Definitions are
 * immutable: a change replaces the object, which is what per-collection caches key on.
 *
 * Other nodes sharing a PostgreSQL database learn of a change by polling the schema version at
 * most every `recheckMs` (one indexed primary-key read), so no node serves a stale schema longer.
 */
export class SchemaRegistry {
  #byName = new Map<string, CollectionDef>()
  #version = ''
  #checkedAt = 0
  #pending: Promise<void> | undefined
  readonly #store: StoreSession
  readonly #recheckMs: number

  constructor(store: StoreSession, options: { recheckMs?: number } = {}) {
    this.#store = store
    this.#recheckMs = options.recheckMs ?? 1000
  }

  /** Loads the catalogue; call once at start and after every local schema change. */
  async reload(): Promise<void> {
    const [collections, version] = await Promise.all([
      this.#store.listCollections(),
      this.#store.getSetting(SCHEMA_VERSION_KEY),
    ])
    this.#byName = new Map(collections.map((c) => [c.name, c]))
    this.#version = version ?? ''
    this.#checkedAt = Date.now()
  }

  /**
   * Whether `refreshIfStale` would look at the store now. Hot paths test it first and skip the
   * await (an async call and a microtask per request) while the schema is fresh.
   */
  get stale(): boolean {
    return Date.now() - this.#checkedAt >= this.#recheckMs
  }

  /** Reloads when another node changed the schema since the last check. */
  async refreshIfStale(): Promise<void> {
    if (!this.stale) return
    this.#pending ??= (async () => {
      try {
        const version = (await this.#store.getSetting(SCHEMA_VERSION_KEY)) ?? ''
        if (version !== this.#version) await this.reload()
        else this.#checkedAt = Date.now()
      } finally {
        this.#pending = undefined
      }
    })()
    await this.#pending
  }

  /** The schema version the catalogue was loaded at (the same string on every node). */
  get version(): string {
    return this.#version
  }

  /**
   * The collections as last loaded. A new map on every reload, so its identity is a cache key
   * for anything derived from the whole schema (the GraphQL schema, the OpenAPI document).
   */
  get catalogue(): ReadonlyMap<string, CollectionDef> {
    return this.#byName
  }

  list(): CollectionDef[] {
    return [...this.#byName.values()]
  }

  find(name: string): CollectionDef | undefined {
    return this.#byName.get(name)
  }

  findById(id: string): CollectionDef | undefined {
    for (const collection of this.#byName.values()) if (collection.id === id) return collection
    return undefined
  }

  /** The collection, or ER_COLLECTION_NOT_FOUND. */
  get(name: string): CollectionDef {
    const collection = this.#byName.get(name)
    if (!collection)
      throw new EngineError('ER_COLLECTION_NOT_FOUND', `There is no collection "${name}".`)
    return collection
  }
}
