/**
 * Processes that work beside running `serve` nodes without serving HTTP (`worker`, and one-off
 * commands such as `import`, `migrate`, `restore`, `keys rotate`): they reach the servers through
 * the deployment's bus so that caches, schemas and keys held in the servers' memory follow their
 * changes at once. With Redis out of reach before the work, a command refuses to start; after
 * it, the work stands and what could not be announced is a warning on stderr. Part of the
 * composition root: main.ts re-exports it, and it picks adapters as main.ts does.
 */
import type { Config } from './config/config.js'
import type { Bus } from './adapters/bus/bus.js'
import type { ResponseCache } from './adapters/cache/cache.js'
import type { Store } from './adapters/store/store.js'
import type { Engine } from './services/create-engine.js'
import { SCHEMA_CHANNEL, SCHEMA_VERSION_KEY } from './services/schema/schema-registry.js'
import { deploymentPrefix, openBus, openEngine, openRedisResponseCache, openStore } from './main.js'

/**
 * The engine of a process that writes beside running `serve` nodes without serving HTTP
 * (`worker`, and CLI commands such as `import`, `schema import`, `superuser create`). With
 * `REDIS_URL`, it runs on the deployment's bus (under `deploymentPrefix`, as serve's): the
 * servers hear its schema changes and realtime events at once, and every record write it
 * commits moves the response cache's versions in Redis, whatever this process's `ER_CACHE` (the
 * servers' setting is the one that counts). `close` ends the engine, then the announcements,
 * then the bus, so a command exits. Without `REDIS_URL`, the plain `openEngine(config)`: no bus
 * reaches another process.
 *
 * @example
 *   const { engine, close } = await openEngineBesideServers(config)
 *   try { await engine.records.create(ctx, 'posts', { title: 'hi' }) } finally { await close() }
 */
export async function openEngineBesideServers(
  config: Config,
): Promise<{ engine: Engine; description: string; close: () => Promise<void> }> {
  const redisUrl = config.redisUrl
  if (!redisUrl) {
    const { engine, description } = await openEngine(config)
    return { engine, description, close: () => engine.close() }
  }
  let bus: Bus | undefined
  let prefix = ''
  let opened: Awaited<ReturnType<typeof openEngine>>
  try {
    opened = await openEngine(config, async (store) => {
      prefix = await deploymentPrefix(store, config.busPrefix)
      return (bus = await openBus(config, prefix))
    })
  } catch (error) {
    // The store is closed by now; an open bus would keep the process alive.
    await bus?.close()
    throw error
  }
  const { engine, description } = opened
  const shared = bus as Bus
  let writes: Awaited<ReturnType<typeof announceRecordWrites>>
  try {
    writes = await announceRecordWrites(config, redisUrl, engine.store, shared, prefix)
  } catch (error) {
    await engine.close()
    await shared.close()
    throw error
  }
  return {
    engine,
    description,
    async close() {
      // The engine first: its dispatcher publishes the last realtime events on the bus. Every
      // step runs whatever the one before did: a connection left open keeps the process alive.
      try {
        await engine.close()
      } finally {
        try {
          await writes.close()
        } finally {
          await shared.close()
        }
      }
    },
  }
}

/** How long a stopping command waits for its last version moves (each is bounded anyway). */
const BUMPS_WAIT_MS = 5_000

/**
 * Moves the response cache's versions of the collections `store` commits writes to, as a serve
 * node does for its own writes (see `buildServer`), for processes that serve no HTTP.
 * `close` waits for the bumps under way and tries once more those Redis did not take; one still
 * not taken is a warning on stderr (the servers may serve answers from before the writes until
 * they expire), since the command's process, and its background retry, end here.
 */
async function announceRecordWrites(
  config: Config,
  redisUrl: string,
  store: Store,
  bus: Bus,
  deploymentPrefix: string,
): Promise<{ close: () => Promise<void> }> {
  const versions = await openCacheVersions(config, redisUrl, bus, deploymentPrefix)
  const bumps = new Set<Promise<void>>()
  const stop = store.onRecordsWritten((names) => {
    const bump: Promise<void> = versions.cache.bump(names).finally(() => bumps.delete(bump))
    bumps.add(bump)
  })
  return {
    async close() {
      stop()
      try {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          Promise.all(bumps),
          new Promise((resolve) => (timer = setTimeout(resolve, BUMPS_WAIT_MS).unref())),
        ])
        clearTimeout(timer)
        if (versions.cache.unannounced().length > 0) {
          await versions.cache.bump(versions.cache.unannounced())
        }
        const missed = versions.cache.unannounced()
        if (missed.length > 0) {
          process.stderr.write(
            `engineroom: warning: Redis did not take the cache version of ${missed.join(', ')}: ` +
              `the servers may answer from their response cache as before these writes for up ` +
              `to ${config.cache.ttlSeconds} s (ER_CACHE_TTL).\n`,
          )
        }
      } finally {
        await versions.close()
      }
    },
  }
}

/**
 * The deployment's Redis response cache for a process that serves no HTTP and only moves
 * versions, on a client of its own that `close` ends.
 */
async function openCacheVersions(
  config: Config,
  redisUrl: string,
  bus: Bus,
  deploymentPrefix: string,
): Promise<{ cache: ResponseCache; close: () => Promise<void> }> {
  const { openRedis, closeRedis } = await import('./adapters/redis/redis-client.js')
  const redis = openRedis(redisUrl)
  try {
    // Its commands fail at once until connected (no offline queue): a short-lived command could
    // otherwise lose its only bump.
    await new Promise<void>((ready, fail) => {
      if (redis.status === 'ready') return ready()
      redis.once('ready', () => ready())
      redis.once('error', fail)
    })
  } catch (error) {
    redis.disconnect()
    throw error
  }
  const cache = await openRedisResponseCache(config, bus, redis, deploymentPrefix)
  return {
    cache,
    async close() {
      try {
        await cache.close()
      } finally {
        await closeRedis(redis)
      }
    },
  }
}

/**
 * After a restore, with `REDIS_URL`: moves the response cache's version of every collection of
 * the restored database. The versions live in Redis, not in the database, and a restored copy
 * keeps its deployment id (see `deploymentPrefix`): without this, answers the servers cached from
 * the data it replaced would be served again, until their TTL, once they start on it. The
 * restore is done by then: Redis out of reach is a warning on stderr, not the command's failure.
 */
export async function forgetCachedAnswers(config: Config): Promise<void> {
  const redisUrl = config.redisUrl
  if (!redisUrl) return
  const warn = () =>
    process.stderr.write(
      `engineroom: warning: could not reach Redis to retire the servers' cached answers: ` +
        `start them no sooner than ${config.cache.ttlSeconds} s (ER_CACHE_TTL) from now, or ` +
        `they may answer from before the restore until those answers expire.\n`,
    )
  const { store } = await openStore(config)
  try {
    const prefix = await deploymentPrefix(store, config.busPrefix)
    const names = (await store.listCollections()).map((collection) => collection.name)
    let bus: Bus
    try {
      bus = await openBus(config, prefix)
    } catch (error) {
      if (!(error instanceof Error && error.name === 'RedisUnreachableError')) throw error
      return void warn()
    }
    try {
      const versions = await openCacheVersions(config, redisUrl, bus, prefix).catch(() => undefined)
      if (!versions) return void warn()
      try {
        await versions.cache.bump(names)
        if (versions.cache.unannounced().length > 0) warn()
      } finally {
        await versions.close()
      }
    } finally {
      await bus.close()
    }
  } finally {
    await store.close()
  }
}

/**
 * The deployment's bus (under `deploymentPrefix`, as serve's) for a one-off command that changes
 * something the servers hold in memory, to tell them at once. Undefined without `REDIS_URL`: no
 * bus reaches another process, and the servers find the change at their next re-read. Opened
 * before the change, so an unreachable Redis ends the command with nothing changed.
 *
 * @example
 *   const bus = await openServersBus(config, store)
 *   try { await removeSigningKey(store, kid); if (bus) await announceSigningKeysChange(bus) }
 *   finally { await bus?.close() }
 */
export async function openServersBus(config: Config, store: Store): Promise<Bus | undefined> {
  if (!config.redisUrl) return undefined
  return openBus(config, await deploymentPrefix(store, config.busPrefix))
}

/**
 * Tells the servers of the deployment, on `bus` (see `openServersBus`), that the schema changed
 * (a change made on the store directly, as `migrate` does), so they reload at once rather than
 * at their next poll. The change is made by then: Redis failing now is a warning on stderr, not
 * the command's failure (the servers' poll finds the change within seconds anyway).
 */
export async function announceSchemaChange(bus: Bus, store: Store): Promise<void> {
  const version = (await store.getSetting(SCHEMA_VERSION_KEY)) ?? ''
  try {
    await bus.publish(SCHEMA_CHANNEL, version)
  } catch {
    process.stderr.write(
      'engineroom: warning: Redis did not take the news of the schema change: the servers ' +
        'load it at their next schema check instead of at once.\n',
    )
  }
}
