import { EngineError } from '../../core/errors/index.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { StoreSession } from '../../adapters/store/store.js'
import type { Bus } from '../../adapters/bus/bus.js'

/** The bus channel on which a node announces the schema version it just committed. */
export const SCHEMA_CHANNEL = 'schema'

/** The settings key whose value changes with every schema change, on every node. */
export const SCHEMA_VERSION_KEY = 'schema_version'

/**
 * The live schema, held in memory so that no request reads the catalogue. Definitions are
 * immutable: a change replaces the object, which is what per-collection caches key on.
 *
 * Other nodes (and `serve --workers` processes) sharing the database learn of a change three ways:
 * the node that made it announces it on the bus (`watch`/`announce`), so the others reload at
 * once; each polls the schema version at most every `recheckMs` (one indexed primary-key read)
 * in case a message was lost; and a request that fails on a stale definition makes its node
 * reload and retry it (`recheck`, and the records service's `retryOnFreshSchema`).
 */
export class SchemaRegistry {
  #byName = new Map<string, CollectionDef>()
  #version = ''
  #checkedAt = 0
  #pending: Promise<void> | undefined
  /** Reloads started and the latest one applied: an older load finishing late is dropped. */
  #loadsStarted = 0
  #loadApplied = 0
  #bus: Bus | undefined
  #unwatch: (() => Promise<void>) | undefined
  readonly #store: StoreSession
  readonly #recheckMs: number

  constructor(store: StoreSession, options: { recheckMs?: number } = {}) {
    this.#store = store
    this.#recheckMs = options.recheckMs ?? 1000
  }

  /** Loads the catalogue; call once at start and after every local schema change. */
  async reload(): Promise<void> {
    const load = ++this.#loadsStarted
    // The version first, then the catalogue: read together (in parallel, on two connections) a
    // change committed between the two reads could label the old catalogue with the new version,
    // which no later check would ever correct. This way the label is never newer than the
    // catalogue, and at worst the next check loads again.
    const version = await this.#store.getSetting(SCHEMA_VERSION_KEY)
    const collections = await this.#store.listCollections()
    if (load < this.#loadApplied) return
    this.#loadApplied = load
    this.#byName = new Map(collections.map((c) => [c.name, c]))
    this.#version = version ?? ''
    this.#checkedAt = Date.now()
  }

  /** The version of the schema as last loaded (changes with every schema change). */
  get version(): string {
    return this.#version
  }

  /**
   * Whether the schema changed since `since` (a `version` read before the work that failed):
   * reloaded meanwhile (a bus message), or moved in the store, which is then read at once,
   * whatever the poll interval, and loaded. True: a request that found no collection or field
   * by a name may find it now. Its own read, never a poll already under way (which may have
   * read the version before the change).
   */
  async recheck(since: string): Promise<boolean> {
    if (this.#version !== since) return true
    const version = (await this.#store.getSetting(SCHEMA_VERSION_KEY)) ?? ''
    // Compared with `since`, not with what is loaded now: a reload may have finished meanwhile.
    if (version === since) return false
    if (this.#version === since) await this.reload()
    return true
  }

  /**
   * Reloads when another node announces a schema change on `bus` (this node's own announcement
   * carries the version it already has, and is skipped). The poll stays as the fallback.
   */
  async watch(bus: Bus, onError: (error: unknown) => void): Promise<void> {
    this.#bus = bus
    this.#unwatch = await bus.subscribe(SCHEMA_CHANNEL, (version) => {
      if (version === this.#version) return
      this.reload().catch(onError)
    })
  }

  /** Stops listening (before the store closes). */
  async unwatch(): Promise<void> {
    await this.#unwatch?.()
    this.#unwatch = undefined
    this.#bus = undefined
  }

  /** Tells the other nodes (see `watch`) that the schema is now at this node's version. */
  async announce(): Promise<void> {
    await this.#bus?.publish(SCHEMA_CHANNEL, this.#version)
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

  /**
   * The collection, fresh: after the poll's check, and when this node does not know the name,
   * after reading the schema version (another node may have created it a moment ago, and its
   * announcement may not have arrived). Else ER_COLLECTION_NOT_FOUND.
   */
  async getFresh(name: string): Promise<CollectionDef> {
    const since = this.#version
    await this.refreshIfStale()
    const found = this.#byName.get(name)
    if (found) return found
    await this.recheck(since)
    return this.get(name)
  }

  /** The collection, or ER_COLLECTION_NOT_FOUND. */
  get(name: string): CollectionDef {
    const collection = this.#byName.get(name)
    if (!collection)
      throw new EngineError('ER_COLLECTION_NOT_FOUND', `There is no collection "${name}".`)
    return collection
  }
}
