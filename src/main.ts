/**
 * The composition root: the only module that picks concrete adapters, from configuration alone.
 * `DATABASE_URL` unset → SQLite in the data directory; `postgres://…` → PostgreSQL.
 * `REDIS_URL` set → Redis for rate-limit counters (and readiness checks it) and BullMQ for jobs.
 */
import { randomBytes } from 'node:crypto'
import type { PaymentProvider } from './adapters/payments/payments.js'
import cluster from 'node:cluster'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { dataPaths, redactUrl, type Config } from './config/config.js'
import { createOutboxMailer } from './adapters/mailer/outbox/outbox-mailer.js'
import { createSmtpMailer } from './adapters/mailer/smtp/smtp-mailer.js'
import { settingsEnvironment } from './config/settings-environment.js'
import { openSqliteStore } from './adapters/store/sqlite/sqlite-store.js'
import type { QueryObserver, Store } from './adapters/store/store.js'
import { createQueryTracer } from './adapters/telemetry/trace-queries.js'
import { createShutdown, type ShutdownStep } from './http/ops/graceful-shutdown.js'
import { createMetrics } from './http/ops/metrics.js'
import { registerRedisMetrics, type RedisWatch } from './http/ops/redis-metrics.js'
import { startBusLagProbe } from './http/ops/bus-lag-probe.js'
import type { ReplicaReadOptions } from './http/plugins/replica-reads.js'
import { createReadPins } from './adapters/redis/read-pins.js'
import { metricsRoutes } from './http/ops/metrics-routes.js'
import { backgroundErrorCounter } from './http/ops/realtime-failures.js'
import { scrubSecrets } from './http/plugins/log-redaction.js'
import { loggerOptions } from './http/plugins/logger-options.js'
import { createLogRing } from './http/ops/log-ring.js'
import type { Bus } from './adapters/bus/bus.js'
import { createClusterBus } from './adapters/bus/cluster/cluster-bus.js'
import { createInProcessBus } from './adapters/bus/in-process/in-process-bus.js'
import { buildServer } from './http/server.js'
import {
  createEngine,
  type BackgroundComponent,
  type Engine,
  type EngineOptions,
} from './services/create-engine.js'
import { createFirstRunSetup } from './services/auth/first-run-setup.js'
import { systemClock } from './core/clock.js'
import type { BlobStore } from './adapters/blobs/blobs.js'
import type { ResponseCache } from './adapters/cache/cache.js'
import type { Redis } from 'ioredis'
import type { Queue } from './adapters/queue/queue.js'
import type { ExtensionSetup } from './services/extensions/extension-api.js'
import type { DatabaseSnapshots } from './adapters/snapshots/snapshots.js'
import { createBackupsService, type BackupsService } from './services/backups/backups-service.js'
import { startBackupSchedule } from './services/backups/backup-schedule.js'
import {
  createBlobBackupTarget,
  createLocalBackupTarget,
  type BackupTarget,
} from './services/backups/backup-target.js'

// What one-off commands and workers use beside running servers (the deployment's bus).
export {
  announceSchemaChange,
  forgetCachedAnswers,
  openEngineBesideServers,
  openServersBus,
} from './beside-servers.js'

/** Opens the configured database (creating the SQLite file if needed) and applies system migrations. */
export async function openStore(
  config: Config,
  onQuery?: QueryObserver,
): Promise<{
  store: Store
  description: string
  /** With `DATABASE_REPLICA_URLS`: how to send record reads to a replica, and where they went. */
  replicas?: Omit<ReplicaReadOptions, 'pins'>
}> {
  if (config.databaseUrl) {
    // Loaded only when used, like the Redis clients below: a SQLite server never holds `pg` or
    // `ioredis` in memory (about 14 MB of its idle RSS).
    const { openPostgresStore } = await import('./adapters/store/postgres/postgres-store.js')
    const store = await openPostgresStore({
      url: config.databaseUrl,
      maxConnections: config.pgPoolSize,
      onQuery,
      seedDefaults: true,
    })
    const description = `PostgreSQL ${redactUrl(config.databaseUrl)}`
    if (config.replicaUrls.length === 0) return { store, description }
    // Pools connect on first use: a CLI command that routes no read never reaches a replica.
    const { openReadReplicas } = await import('./adapters/store/read-replicas.js')
    const routed = await openReadReplicas(store, config.replicaUrls, {
      maxConnections: config.pgPoolSize,
      onQuery,
    })
    return {
      store: routed.store,
      description: `${description} (+${config.replicaUrls.length} read replica(s))`,
      replicas: { onReplica: routed.onReplica, counts: routed.counts },
    }
  }
  const { sqliteFile } = dataPaths(config)
  const store = await openSqliteStore({
    file: sqliteFile,
    synchronous: config.sqliteSynchronous,
    onQuery,
    seedDefaults: true,
  })
  return { store, description: `SQLite ${sqliteFile} (synchronous=${config.sqliteSynchronous})` }
}

/** The `_settings` key of the id that tells this deployment's Redis channels and keys apart. */
export const DEPLOYMENT_ID_KEY = 'deployment_id'

/**
 * The prefix of every Redis channel and key of this deployment: `ER_BUS_PREFIX` when set, else
 * `er:<deployment id>:`, the id made on first start and kept in the database, so every node of a
 * deployment agrees on it and two deployments sharing a Redis server never meet (pub/sub ignores
 * the DB index; keys would collide in one DB index). A copy of the database (a restore) keeps
 * the id: run a copy beside its original with its own `ER_BUS_PREFIX`.
 */
export async function deploymentPrefix(store: Store, explicit?: string): Promise<string> {
  if (explicit !== undefined) return explicit
  const id = await store.initSetting(DEPLOYMENT_ID_KEY, randomBytes(9).toString('base64url'))
  return `er:${id}:`
}

/**
 * The bus for realtime and schema announcements: Redis pub/sub when `REDIS_URL` is set (every
 * node), its channels under `prefix` (see `deploymentPrefix`); else the cluster IPC bus in a
 * `serve --workers` worker; else in-process.
 */
export async function openBus(
  config: Config,
  prefix = config.busPrefix ?? 'er:',
  redisWatch?: RedisWatch,
): Promise<Bus> {
  if (config.redisUrl) {
    // Loaded only when used: every CLI command imports this module, few need Redis.
    const { createRedisBus } = await import('./adapters/bus/redis/redis-bus.js')
    return createRedisBus({
      url: config.redisUrl,
      prefix,
      ...(redisWatch ? { onConnection: (client, role) => redisWatch.watch(client, role) } : {}),
    })
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

/** The payment provider `ER_PAYMENTS_PROVIDER` names (the stripe package is loaded only then). */
async function openPayments(config: Config, store: Store): Promise<PaymentProvider> {
  if (config.payments?.provider === 'stripe') {
    const { createStripePayments } = await import('./adapters/payments/stripe/stripe-payments.js')
    return createStripePayments(config.payments)
  }
  const { createTestPayments } = await import('./adapters/payments/test/test-payments.js')
  // One signing secret per deployment, kept in the database so every node verifies alike.
  const secret = await store.initSetting('payments_test_secret', randomBytes(32).toString('hex'))
  return createTestPayments({ secret, publicUrl: () => config.appUrl })
}

/**
 * A background failure as one JSON line on stderr (pino's shape, secrets scrubbed as on every
 * log line), where no server logger exists: CLI commands, and the moment before the server is
 * built.
 */
export function writeBackgroundError(error: unknown, component: BackgroundComponent): void {
  const err =
    error instanceof Error
      ? { type: error.name, message: error.message, stack: error.stack }
      : { message: String(error) }
  const line = { level: 50, time: Date.now(), component, err, msg: 'background task failed' }
  process.stderr.write(`${scrubSecrets(JSON.stringify(line))}\n`)
}

/**
 * The response cache (`ER_CACHE`): in Redis, shared by every node, when `REDIS_URL` is set;
 * else an LRU in this process (with `serve --workers`, each worker's own, invalidated through
 * the cluster bus). Undefined when the cache is off.
 */
export async function openResponseCache(
  config: Config,
  bus: Bus,
  redis: Redis | undefined,
  deploymentPrefix: string,
): Promise<ResponseCache | undefined> {
  if (!config.cache.enabled) return undefined
  if (redis) return openRedisResponseCache(config, bus, redis, deploymentPrefix)
  const { createMemoryCache } = await import('./adapters/cache/memory/memory-cache.js')
  return createMemoryCache(cacheLimits(config), bus)
}

/** The deployment's response cache in Redis (`<deployment prefix>cache:`), shared by every node. */
export async function openRedisResponseCache(
  config: Config,
  bus: Bus,
  redis: Redis,
  deploymentPrefix: string,
): Promise<ResponseCache> {
  const { createRedisCache } = await import('./adapters/cache/redis/redis-cache.js')
  const prefix = `${deploymentPrefix}cache:`
  return createRedisCache({ ...cacheLimits(config), redis, bus, prefix })
}

const cacheLimits = (config: Config) => ({
  maxBytes: config.cache.maxBytes,
  ttlMs: config.cache.ttlSeconds * 1000,
})

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

/**
 * Where archives are kept: `ER_BACKUP_DIR`, or the bucket of `ER_BACKUP_TARGET=s3`.
 *
 * @example
 *   const target = await openBackupTarget(config)   // s3://backups-bucket/backups/ or a folder
 */
export async function openBackupTarget(config: Config): Promise<BackupTarget> {
  const s3 = config.backup.s3
  if (!s3) return createLocalBackupTarget(config.backup.dir)
  const { openS3Blobs } = await import('./adapters/blobs/s3/s3-blobs.js')
  return createBlobBackupTarget(openS3Blobs(s3), `s3://${s3.bucket}/${s3.prefix}`)
}

/** The backups service over an open engine's store and blobs (`ER_BACKUP_*` settings). */
export async function openBackups(config: Config, engine: Engine): Promise<BackupsService> {
  return createBackupsService({
    target: await openBackupTarget(config),
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

/**
 * Opens the store and builds every service over it; with a bus, realtime runs too. `bus` may be
 * a function of the open store (the deployment's Redis prefix is kept in the database). The
 * extension is `extras.extension` (a setup in code) or else the file `config.extensions`.
 *
 * @example
 *   const config = loadConfig({ dir: './er_data' }, process.env)
 *   const { engine } = await openEngine(config, undefined, undefined, {
 *     extension: { name: 'main', setup: defineExtension((er) => { … }) },
 *   })
 */
export async function openEngine(
  config: Config,
  busOrOpen?: Bus | ((store: Store) => Promise<Bus>),
  onQuery?: QueryObserver,
  extras: {
    extension?: { name: string; setup: ExtensionSetup }
    /** Where background failures go (default: a JSON line on stderr). */
    onBackgroundError?: EngineOptions['onBackgroundError']
  } = {},
): Promise<{
  engine: Engine
  description: string
  replicas?: Omit<ReplicaReadOptions, 'pins'>
}> {
  // Loaded (and compiled) before the store opens: a mistake in it ends the start at once.
  const extension =
    extras.extension ??
    (config.extensions
      ? await (
          await import('./services/extensions/load-extension.js')
        ).loadExtension(config.extensions)
      : undefined)
  const { store, description, replicas } = await openStore(config, onQuery)
  let queue: Queue | undefined
  try {
    const bus = typeof busOrOpen === 'function' ? await busOrOpen(store) : busOrOpen
    const blobs = await openBlobs(config)
    queue = config.redisUrl
      ? // BullMQ is loaded only with Redis; the store's `_jobs` table is the queue otherwise.
        (await import('./adapters/queue/bullmq/bullmq-queue.js')).createBullmqQueue({
          url: config.redisUrl,
          // Unset, the deployment's prefix: a shared `er:` let two deployments on one Redis
          // server run each other's jobs against the wrong database.
          prefix: config.jobs.prefix ?? (await deploymentPrefix(store, config.busPrefix)),
          store,
        })
      : undefined
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
      // Auth mails are jobs: a worker (here or `engineroom worker`) sends and retries them.
      mailQueue: true,
      mailer: config.smtpUrl
        ? // nodemailer itself is loaded only when a mail is sent.
          createSmtpMailer({
            url: config.smtpUrl,
            from: config.mailFrom,
          })
        : createOutboxMailer({
            dir: dataPaths(config).outboxDir,
            from: config.mailFrom,
            log: (fields, message) => console.info(JSON.stringify({ ...fields, msg: message })),
          }),
      // Settings saved through the Settings screen; the environment's variables still win.
      settings: {
        environment: settingsEnvironment(config),
        defaultFrom: config.mailFrom,
        smtpMailer: (smtp) =>
          createSmtpMailer({
            server: {
              host: smtp.host,
              port: smtp.port,
              secure: smtp.secure,
              user: smtp.user,
              password: smtp.password,
            },
            from: smtp.from,
          }),
      },
      ...(bus ? { bus, realtime: config.realtime } : {}),
      ...(config.payments ? { payments: { provider: await openPayments(config, store) } } : {}),
      ...(extension ? { extension } : {}),
      ...(queue ? { queue } : {}),
      webhooks: { policy: { allowHosts: config.jobs.webhookAllowHosts } },
      retention: config.retention,
      consentPurposes: config.consentPurposes,
      // The dispatcher and hub retry on their own; a failure is worth a line, not a crash.
      onBackgroundError: extras.onBackgroundError ?? writeBackgroundError,
    })
    return { engine, description, ...(replicas ? { replicas } : {}) }
  } catch (error) {
    // BullMQ's Redis connections would keep a failed command's process alive.
    await queue?.close().catch(() => {})
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
): Promise<{ app: FastifyInstance; engine: Engine; url: string; setupToken?: string }> {
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
  // Counted from the start; logged by the app's logger once it exists, as JSON on stderr before.
  const backgroundErrors = backgroundErrorCounter(metrics)
  const redisWatch = config.redisUrl ? registerRedisMetrics(metrics) : undefined
  let log: FastifyBaseLogger | undefined = undefined
  let prefix = 'er:'
  let opened: Bus | undefined
  const { engine, description, replicas } = await openEngine(
    config,
    async (store) => {
      prefix = await deploymentPrefix(store, config.busPrefix)
      return (opened = await openBus(config, prefix, redisWatch))
    },
    onQuery,
    {
      onBackgroundError: (error, component) => {
        backgroundErrors.inc({ component })
        if (log) log.error({ err: error, component }, 'background task failed')
        else writeBackgroundError(error, component)
      },
    },
  )
  const bus = opened as Bus
  const redis = config.redisUrl
    ? (await import('./adapters/redis/redis-client.js')).openRedis(config.redisUrl)
    : undefined
  if (redis) redisWatch?.watch(redis, 'commands')
  const responseCache = await openResponseCache(config, bus, redis, prefix)
  // Per-user realtime caps across nodes: each slot a lease in Redis that its node renews.
  const leases =
    redis && engine.realtime
      ? (await import('./adapters/redis/redis-connection-leases.js')).createRedisConnectionLeases({
          redis,
          prefix,
          leaseMs: config.realtime.leaseSeconds * 1000,
          onError: () => redisWatch?.error('commands'),
        })
      : undefined
  if (leases) engine.realtime?.connections.share(leases)
  const busProbe = config.redisUrl ? await startBusLagProbe(bus, metrics) : undefined
  // The dashboard's log viewer reads the last lines from here, redacted as written.
  const logRing = createLogRing()
  const logger = loggerOptions({
    level: config.logLevel,
    format: config.logFormat,
    onLine: logRing.push,
  })
  const backups = await openBackups(config, engine)

  let isShuttingDown = () => false
  const firstRunSetup = createFirstRunSetup({
    store: engine.store,
    registry: engine.registry,
    records: engine.records,
    clock: systemClock,
  })
  const app = await buildServer(engine, {
    firstRunSetup,
    bodyLimit: config.bodyLimit,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    logger,
    metrics,
    metricsRoute: ops.metricsHttp ? false : { token: ops.metricsToken },
    tracing: tracing !== undefined,
    rateLimit: {
      budgets: ops.rateLimit,
      callerBudgets: ops.callerRateLimit,
      redis,
      redisPrefix: `${prefix}rl:`,
    },
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
    ...(responseCache ? { responseCache } : {}),
    ...(replicas
      ? {
          replicaReads: {
            ...replicas,
            pins: createReadPins({
              ttlMs: config.replicaPinSeconds * 1000,
              redis,
              prefix,
              onError: () => redisWatch?.error('commands'),
            }),
          },
        }
      : {}),
    landingPage: config.landingPage,
    backups,
    observability: { logs: logRing },
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
    // Always on: providers saved in the settings start working without a restart.
    oauth: {
      providers: config.oauthProviders,
      publicUrl: () => config.appUrl,
      redirectOrigins: [new URL(config.appUrl).origin, ...config.trustedOrigins],
    },
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
  log = app.log
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
        store: engine.store,
        clock: engine.clock,
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
    { name: 'backup target', run: () => backups.target.close() },
    { name: 'store', run: () => engine.close() },
    // After the app closed its streams; before Redis goes: what is still held is given back.
    ...(leases ? [{ name: 'connection leases', run: () => leases.close() }] : []),
    ...(busProbe ? [{ name: 'bus probe', run: () => busProbe.stop() }] : []),
    ...(responseCache ? [{ name: 'cache', run: () => responseCache.close() }] : []),
    { name: 'bus', run: () => bus.close() },
    ...(redis
      ? [
          {
            name: 'redis',
            run: async () => (await import('./adapters/redis/redis-client.js')).closeRedis(redis),
          },
        ]
      : []),
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
  // After the app (and any extension) defined its job handlers.
  if (config.jobs.concurrency > 0) engine.jobs.startWorkers(config.jobs.concurrency)
  if (metricsApp) await metricsApp.listen(ops.metricsHttp)
  redis?.on('error', (err) => app.log.warn({ err }, 'redis connection error'))
  app.log.info(
    { store: description, url, tracing: tracing !== undefined },
    'Engine Room is serving',
  )
  isShuttingDown = shutdown.isShuttingDown
  process.on('SIGTERM', () => void shutdown.begin('SIGTERM'))
  process.on('SIGINT', () => void shutdown.begin('SIGINT'))
  // A `--workers` worker holds its own token, and the primary cannot print each one: there the
  // CLI's `superuser create` is the way in.
  const setupToken = cluster.isWorker ? undefined : await firstRunSetup.issue()
  return { app, engine, url, ...(setupToken ? { setupToken } : {}) }
}
