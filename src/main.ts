/**
 * The composition root: the only module that picks concrete adapters, from configuration alone.
 * `DATABASE_URL` unset → SQLite in the data directory; `postgres://…` → PostgreSQL.
 * `REDIS_URL` set → Redis for rate-limit counters (and readiness checks it).
 */
import cluster from 'node:cluster'
import Fastify, { type FastifyInstance } from 'fastify'
import { dataPaths, redactUrl, type Config } from './config/config.js'
import { createOutboxMailer } from './adapters/mailer/outbox/outbox-mailer.js'
import { openSqliteStore } from './adapters/store/sqlite/sqlite-store.js'
import type { QueryObserver, Store } from './adapters/store/store.js'
import { createQueryTracer } from './adapters/telemetry/trace-queries.js'
import { createShutdown, type ShutdownStep } from './http/ops/graceful-shutdown.js'
import { createMetrics } from './http/ops/metrics.js'
import { metricsRoutes } from './http/ops/metrics-routes.js'
import { loggerOptions } from './http/plugins/logger-options.js'
import type { Bus } from './adapters/bus/bus.js'
import { createClusterBus } from './adapters/bus/cluster/cluster-bus.js'
import { createInProcessBus } from './adapters/bus/in-process/in-process-bus.js'
import { buildServer } from './http/server.js'
import { createEngine, type Engine } from './services/create-engine.js'
import type { BlobStore } from './adapters/blobs/blobs.js'
import type { DatabaseSnapshots } from './adapters/snapshots/snapshots.js'
import { createBackupsService, type BackupsService } from './services/backups/backups-service.js'
import { startBackupSchedule } from './services/backups/backup-schedule.js'

/** Opens the configured database (creating the SQLite file if needed) and applies system migrations. */
export async function openStore(
  config: Config,
  onQuery?: QueryObserver,
): Promise<{ store: Store; description: string }> {
  if (config.databaseUrl) {
    // Loaded only when used, like the Redis clients below: a SQLite server never holds `pg` or
    // `ioredis` in memory (about 14 MB of its idle RSS).
    const { openPostgresStore } = await import('./adapters/store/postgres/postgres-store.js')
    const store = await openPostgresStore({
      url: config.databaseUrl,
      maxConnections: config.pgPoolSize,
      onQuery,
    })
    return { store, description: `PostgreSQL ${redactUrl(config.databaseUrl)}` }
  }
  const { sqliteFile } = dataPaths(config)
  const store = await openSqliteStore({
    file: sqliteFile,
    synchronous: config.sqliteSynchronous,
    onQuery,
  })
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

/**
 * The blob store for files: S3 when `ER_S3_BUCKET` is set (the AWS SDK is loaded only then),
 * else `<dir>/storage` on local disk.
 */
export async function openBlobs(config: Config): Promise<BlobStore> {
  if (config.files.s3) {
    const { openS3Blobs } = await import('./adapters/blobs/s3/s3-blobs.js')
    return openS3Blobs(config.files.s3)
  }
  const { openLocalBlobs } = await import('./adapters/blobs/local/local-blobs.js')
  return openLocalBlobs({ root: dataPaths(config).storageDir })
}

/**
 * Snapshots of the configured database for backups and restores (see `adapters/snapshots`).
 * Opens nothing until used, so `restore` can point it at a database that does not exist yet.
 */
export async function openSnapshots(config: Config): Promise<DatabaseSnapshots> {
  if (config.databaseUrl) {
    const { createPostgresSnapshots } =
      await import('./adapters/snapshots/postgres/postgres-snapshots.js')
    return createPostgresSnapshots({ url: config.databaseUrl })
  }
  const { createSqliteSnapshots } = await import('./adapters/snapshots/sqlite/sqlite-snapshots.js')
  return createSqliteSnapshots({ file: dataPaths(config).sqliteFile })
}

/** The backups service over an open engine's store and blobs (`ER_BACKUP_*` settings). */
export async function openBackups(config: Config, engine: Engine): Promise<BackupsService> {
  return createBackupsService({
    sources: {
      snapshots: await openSnapshots(config),
      blobs: engine.blobs ?? (await openBlobs(config)),
      migrationsDir: dataPaths(config).migrationsDir,
    },
    dir: config.backup.dir,
    key: config.backup.key,
    keep: config.backup.keep,
  })
}

/** Opens the store and builds every service over it; with a bus, realtime runs too. */
export async function openEngine(
  config: Config,
  bus?: Bus,
  onQuery?: QueryObserver,
): Promise<{ engine: Engine; description: string }> {
  const { store, description } = await openStore(config, onQuery)
  try {
    const blobs = await openBlobs(config)
    const engine = await createEngine({
      files: {
        blobs,
        uploadsDir: dataPaths(config).uploadsDir,
        limits: {
          maxRequestBytes: config.files.maxRequestBytes,
          maxFilesPerRequest: config.files.maxFilesPerRequest,
          maxPixels: config.files.maxPixels,
          tokenTtlSeconds: config.files.tokenTtlSeconds,
        },
      },
      store,
      migrationsDir: dataPaths(config).migrationsDir,
      tokenTtlSeconds: config.tokenTtlSeconds,
      sessionTtlSeconds: config.sessionTtlSeconds,
      callerRecheckMs: config.authRecheckMs,
      expandLimits: config.expand,
      tracing: config.ops.otlpEndpoint !== undefined,
      appUrl: config.appUrl,
      mailer: config.smtpUrl
        ? // nodemailer is loaded only when SMTP is configured.
          (await import('./adapters/mailer/smtp/smtp-mailer.js')).createSmtpMailer({
            url: config.smtpUrl,
            from: config.mailFrom,
          })
        : createOutboxMailer({
            dir: dataPaths(config).outboxDir,
            from: config.mailFrom,
            log: (fields, message) => console.info(JSON.stringify({ ...fields, msg: message })),
          }),
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
 * Starts the HTTP server (and the metrics port when `ER_METRICS_HTTP` is set) and stops it
 * gracefully on SIGTERM/SIGINT (see `createShutdown`). A second signal exits at once.
 */
export async function startServer(
  config: Config,
): Promise<{ app: FastifyInstance; engine: Engine; url: string }> {
  const { ops } = config
  const tracing = ops.otlpEndpoint
    ? // The OpenTelemetry SDK and exporter are loaded only when tracing is configured.
      (await import('./adapters/telemetry/otel-tracing.js')).startTracing({
        serviceName: ops.serviceName,
        endpoint: ops.otlpEndpoint,
      })
    : undefined
  const metrics = createMetrics({ processMetrics: true })
  const traceQuery = tracing
    ? createQueryTracer(config.databaseUrl ? 'postgresql' : 'sqlite')
    : undefined
  const onQuery: QueryObserver = traceQuery
    ? (event) => {
        metrics.observeQuery(event)
        traceQuery(event)
      }
    : metrics.observeQuery
  const bus = await openBus(config)
  const { engine, description } = await openEngine(config, bus, onQuery)
  const redis = config.redisUrl
    ? (await import('./adapters/redis/redis-client.js')).openRedis(config.redisUrl)
    : undefined
  const logger = loggerOptions({ level: config.logLevel, format: config.logFormat })
  const backups = await openBackups(config, engine)

  let isShuttingDown = () => false
  const app = await buildServer(engine, {
    bodyLimit: config.bodyLimit,
    logger,
    metrics,
    metricsRoute: ops.metricsHttp ? false : { token: ops.metricsToken },
    tracing: tracing !== undefined,
    rateLimit: { budgets: ops.rateLimit, redis },
    loadShedding: ops.shedding,
    cors: { origins: ops.corsOrigins, credentials: ops.corsCredentials },
    limits: ops,
    trustProxyHops: ops.trustProxyHops,
    readinessChecks: redis
      ? [
          {
            name: 'redis',
            check: async () => {
              await redis.ping()
            },
          },
        ]
      : [],
    isShuttingDown: () => isShuttingDown(),
    backups,
    graphql: config.graphql.enabled
      ? {
          limits: {
            maxDepth: config.graphql.maxDepth,
            maxCost: config.graphql.maxCost,
            maxAliases: config.graphql.maxAliases,
            maxBatch: config.graphql.maxBatch,
            introspection: config.graphql.introspection,
          },
          explorer: config.graphql.explorer,
        }
      : false,
    ...(config.oauthProviders.length === 0
      ? {}
      : {
          oauth: {
            providers: config.oauthProviders,
            publicUrl: () => config.appUrl,
            redirectOrigins: [new URL(config.appUrl).origin, ...config.trustedOrigins],
          },
        }),
    ...(config.authCookie === 'off'
      ? {}
      : {
          authCookies: {
            sameSite: config.authCookie,
            trustedOrigins: config.trustedOrigins,
            accessTtlSeconds: config.tokenTtlSeconds,
            sessionTtlSeconds: config.sessionTtlSeconds,
          },
        }),
  })
  const apps = [app]
  let metricsApp: FastifyInstance | undefined
  if (ops.metricsHttp) {
    metricsApp = Fastify({ logger: false })
    await metricsApp.register(metricsRoutes, { metrics, token: ops.metricsToken, anyClient: true })
    apps.push(metricsApp)
  }
  const schedule = config.backup.schedule
    ? startBackupSchedule({
        pattern: config.backup.schedule,
        backups,
        // One node per tick: the first to claim it (an atomic insert-or-check in the store).
        claim: (tick) =>
          engine.store.auth.claimThrottleSlot(
            `backup-schedule:${tick}`,
            new Date().toISOString(),
            new Date(Date.now() + 24 * 3600_000).toISOString(),
          ),
        onRun: (run) => {
          if (run.error) app.log.error({ backup: run }, 'scheduled backup failed')
          else app.log.info({ backup: run }, 'scheduled backup taken and verified')
        },
      })
    : undefined
  const afterClose: ShutdownStep[] = [
    ...(schedule ? [{ name: 'backup schedule', run: async () => schedule.stop() }] : []),
    { name: 'store', run: () => engine.close() },
    { name: 'bus', run: () => bus.close() },
    ...(redis ? [{ name: 'redis', run: async () => void (await redis.quit()) }] : []),
    ...(tracing ? [{ name: 'tracing', run: () => tracing.shutdown() }] : []),
  ]
  // Before listening: shutdown keeps track of every connection the servers accept.
  const shutdown = createShutdown({
    apps,
    drainMs: ops.shutdownDrainMs,
    timeoutMs: ops.shutdownTimeoutMs,
    // Realtime streams and GraphQL sockets end in the app's own preClose hooks.
    beforeClose: [],
    afterClose,
    log: app.log,
    exit: (code) => process.exit(code),
  })
  const url = await app.listen({ host: config.http.host, port: config.http.port })
  if (metricsApp) await metricsApp.listen(ops.metricsHttp)
  redis?.on('error', (err) => app.log.warn({ err }, 'redis connection error'))
  app.log.info(
    { store: description, url, tracing: tracing !== undefined },
    'Engine Room is serving',
  )
  isShuttingDown = shutdown.isShuttingDown
  process.on('SIGTERM', () => void shutdown.begin('SIGTERM'))
  process.on('SIGINT', () => void shutdown.begin('SIGINT'))
  return { app, engine, url }
}
