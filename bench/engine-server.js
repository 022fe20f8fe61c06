/** Child process: Engine Room itself over its SQLite file, as `engineroom serve` would run it. */
import { createInProcessBus } from '../dist/adapters/bus/in-process/in-process-bus.js'
import { createMemoryCache } from '../dist/adapters/cache/memory/memory-cache.js'
import { openPostgresStore } from '../dist/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../dist/adapters/store/sqlite/sqlite-store.js'
import { bufferedDestination, loggerOptions } from '../dist/http/plugins/logger-options.js'
import { buildServer } from '../dist/http/server.js'
import { createEngine } from '../dist/services/create-engine.js'
import { serveChild } from './child-ipc.js'

serveChild(async ({ file, url, migrationsDir, cache, logFile }) => {
  // `url`: PostgreSQL (bench/postgres.js), with the store's default pool; else the SQLite file.
  const store = url ? await openPostgresStore({ url }) : await openSqliteStore({ file })
  // With a bus, as `serve` runs it: realtime on. The fan-out scenario opens many streams as one
  // superuser from one address, so the per-user and per-address connection limits are lifted here.
  const bus = createInProcessBus()
  const engine = await createEngine({
    store,
    migrationsDir,
    bus,
    realtime: { maxConnectionsPerUser: 1_000_000, maxConnectionsPerAddress: 1_000_000 },
  })
  // `cache: true`: with the response cache as `ER_CACHE=true` runs it (bench/cache.js).
  const responseCache = cache
    ? await createMemoryCache({ maxBytes: 64 * 1024 * 1024, ttlMs: 60_000 }, bus)
    : undefined
  // `logFile`: the request log on, as `serve` writes it by default (to a file instead of stdout).
  const logger = logFile
    ? loggerOptions({ level: 'info', stream: bufferedDestination(logFile) })
    : undefined
  const app = await buildServer(engine, {
    ...(responseCache ? { responseCache } : {}),
    ...(logger ? { logger } : {}),
  })
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
  return { port: app.server.address().port, info: {} }
})
