/**
 * The composition root: the only module that picks concrete adapters, from configuration alone.
 * `DATABASE_URL` unset → SQLite in the data directory; `postgres://…` → PostgreSQL.
 */
import type { FastifyInstance } from 'fastify'
import { dataPaths, redactUrl, type Config } from './config/config.js'
import { openPostgresStore } from './adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from './adapters/store/sqlite/sqlite-store.js'
import type { Bus } from './adapters/bus/bus.js'
import { createInProcessBus } from './adapters/bus/in-process/in-process-bus.js'
import { createClusterBus } from './adapters/bus/cluster/cluster-bus.js'
import cluster from 'node:cluster'
import type { Store } from './adapters/store/store.js'
import { buildServer } from './http/server.js'
import { createEngine, type Engine } from './services/create-engine.js'

/** Opens the configured database (creating the SQLite file if needed) and applies system migrations. */
export async function openStore(config: Config): Promise<{ store: Store; description: string }> {
  if (config.databaseUrl) {
    const store = await openPostgresStore({
      url: config.databaseUrl,
      maxConnections: config.pgPoolSize,
    })
    return { store, description: `PostgreSQL ${redactUrl(config.databaseUrl)}` }
  }
  const { sqliteFile } = dataPaths(config)
  const store = await openSqliteStore({ file: sqliteFile, synchronous: config.sqliteSynchronous })
  return { store, description: `SQLite ${sqliteFile} (synchronous=${config.sqliteSynchronous})` }
}

/**
 * The bus for realtime: Redis pub/sub when `REDIS_URL` is set (every node); else the cluster
 * IPC bus in a `serve --workers` worker; else in-process.
 * `ER_BUS_PREFIX` keeps deployments (and test runs) sharing one Redis apart.
 */
export async function openBus(config: Config): Promise<Bus> {
  if (config.redisUrl) {
    // Loaded only when used: every CLI command imports this module, few need Redis.
    const { createRedisBus } = await import('./adapters/bus/redis/redis-bus.js')
    return createRedisBus({ url: config.redisUrl, prefix: process.env.ER_BUS_PREFIX ?? 'er:' })
  }
  return cluster.isWorker ? createClusterBus() : createInProcessBus()
}

/** Opens the store and builds every service over it; with a bus, realtime runs too. */
export async function openEngine(
  config: Config,
  bus?: Bus,
): Promise<{ engine: Engine; description: string }> {
  const { store, description } = await openStore(config)
  try {
    const engine = await createEngine({
      store,
      migrationsDir: dataPaths(config).migrationsDir,
      tokenTtlSeconds: config.tokenTtlSeconds,
      ...(bus ? { bus, realtime: config.realtime } : {}),
      // The dispatcher and hub retry on their own; a failure is worth a line, not a crash.
      onBackgroundError: (error) =>
        console.error(`engineroom: realtime: ${error instanceof Error ? error.message : error}`),
    })
    return { engine, description }
  } catch (error) {
    await store.close()
    throw error
  }
}

/**
 * Starts the HTTP server and stops it cleanly on SIGTERM/SIGINT: stop accepting, let requests
 * in flight finish, close the store. A second signal exits at once.
 */
export async function startServer(
  config: Config,
): Promise<{ app: FastifyInstance; engine: Engine; url: string }> {
  const bus = await openBus(config)
  const { engine, description } = await openEngine(config, bus)
  const app = await buildServer(engine, {
    bodyLimit: config.bodyLimit,
    logger: {
      level: config.logLevel,
      // Secrets never reach a log line, whichever route logs the request.
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
        censor: '[redacted]',
      },
    },
  })
  const url = await app.listen({ host: config.http.host, port: config.http.port })
  app.log.info({ store: description, url }, 'Engine Room is serving')
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) process.exit(1)
    stopping = true
    app.log.info({ signal }, 'shutting down: finishing requests in flight')
    await app.close()
    await engine.close()
    await bus.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  return { app, engine, url }
}
