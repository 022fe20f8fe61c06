import multipart from '@fastify/multipart'
import proxyAddr from '@fastify/proxy-addr'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Engine } from '../services/create-engine.js'
import type { OAuthProviderConfig } from '../services/auth/auth-oauth-providers.js'
import { healthRoutes, type ReadinessCheck } from './ops/health-routes.js'
import { registerEngineGauges } from './ops/engine-gauges.js'
import { reportRealtimeFailures } from './ops/realtime-failures.js'
import { registerBackupGauges } from './ops/backup-gauges.js'
import { backupsRoutes } from './rest/backups-routes.js'
import { privacyRoutes } from './rest/privacy-routes.js'
import { auditRoutes } from './rest/audit-routes.js'
import { settingsRoutes } from './rest/settings-routes.js'
import { liveSettings } from './plugins/live-settings.js'
import type { BackupsService } from '../services/backups/backups-service.js'
import { createMetrics, type Metrics } from './ops/metrics.js'
import { metricsRoutes } from './ops/metrics-routes.js'
import { createMetricsHistory } from './ops/metrics-history.js'
import { observabilityRoutes } from './ops/observability-routes.js'
import type { LogRing } from './ops/log-ring.js'
import { registerLoadShedding, type LoadSheddingOptions } from './plugins/load-shedding.js'
import { registerAuthCookies, type AuthCookieOptions } from './plugins/auth-cookies.js'
import { registerProblemDetails, replyFrameworkError } from './plugins/problem-details.js'
import { registerRateLimit, type RateLimitOptions } from './plugins/rate-limit.js'
import { contextOf, requestIdFrom } from './plugins/request-context.js'
import { registerReplicaReads, type ReplicaReadOptions } from './plugins/replica-reads.js'
import { API_KEY_PREFIX } from '../services/auth/auth-api-keys.js'
import { SUPERUSERS } from '../core/schema/system-collections.js'
import { registerResponseObservers } from './plugins/response-observers.js'
import { registerSecurityHeaders } from './plugins/security-headers.js'
import { registerTracing } from './plugins/tracing.js'
import { authApiKeyRoutes } from './rest/auth-api-key-routes.js'
import { authEmailRoutes } from './rest/auth-email-routes.js'
import { realtimeRoutes } from './realtime/realtime-routes.js'
import { authRoutes } from './rest/auth-routes.js'
import { collectionsRoutes } from './rest/collections-routes.js'
import { jobsRoutes } from './rest/jobs-routes.js'
import { webhooksRoutes } from './rest/webhooks-routes.js'
import { schedulesRoutes } from './rest/schedules-routes.js'
import { mailTemplatesRoutes } from './rest/mail-templates-routes.js'
import { openApiRoutes } from './rest/openapi-routes.js'
import { createOpenApiDocuments } from '../services/openapi/openapi-documents.js'
import { recordsRoutes } from './rest/records-routes.js'
import { paymentsRoutes } from './rest/payments-routes.js'
import { extensionRoutes } from './extensions/extension-routes.js'
import { buildExtensionPaths } from '../services/openapi/openapi-extension-paths.js'
import { filesRoutes } from './files/files-routes.js'
import { tusRoutes } from './files/tus-routes.js'
import { graphqlRoutes } from './graphql/graphql-routes.js'
import { registerGraphqlWs } from './graphql/graphql-ws-upgrade.js'
import type { GraphqlEndpoint } from './graphql/graphql-endpoint.js'
import { registerJsonParser } from './plugins/json-body.js'
import { registerIdempotency } from './plugins/idempotency.js'
import type { GraphqlLimits } from '../graphql/limits.js'
import { DEFAULT_REALTIME } from '../services/create-engine.js'
import { RealtimeConnections } from '../services/realtime/realtime-connections.js'
import type { ResponseCache } from '../adapters/cache/cache.js'
import { createCachedReads } from './rest/cached-reads.js'
import { registerCacheMetrics } from './ops/cache-metrics.js'
import { authLinkPages } from './pages/auth-link-pages.js'
import { landingPage } from './pages/landing-page.js'
import { pageAssetRoutes } from './pages/page-assets.js'
import { setupRoutes } from './pages/setup-routes.js'
import { adminRoutes, DEFAULT_ADMIN_DIR } from './admin/admin-routes.js'
import { DEFAULT_HUB_DIR, hubRoutes } from './hub/hub-routes.js'
import { appliedTemplate } from '../services/templates/apply-template.js'
import type { FirstRunSetup } from '../services/auth/first-run-setup.js'

export interface ServerOptions {
  /** How long an `Idempotency-Key` and its answer are kept (default 24 hours). */
  idempotencyTtlSeconds?: number
  /** Largest request body in bytes (default 1 MiB); larger is a 413. */
  bodyLimit?: number
  /** Pino options (see `loggerOptions`); off by default. */
  logger?: FastifyServerOptions['logger']
  /** Extra readiness checks (Redis, …) beside the store's and the migrations'. */
  readinessChecks?: ReadinessCheck[]
  /** The metrics registry (default: a fresh one without process metrics). */
  metrics?: Metrics
  /**
   * `/metrics` on this app: `{ token }` requires a bearer token, `{}` allows loopback only,
   * `false` leaves it out (served on a separate port instead). Default `{}`.
   */
  metricsRoute?: { token?: string | undefined } | false
  /** Server spans per request (needs a registered tracer provider to record anything). */
  tracing?: boolean
  /** Rate limits; none when absent. The token subject is read with the engine's signer. */
  rateLimit?: Omit<RateLimitOptions, 'identifyCaller'>
  /** Refuse requests with 503 when overloaded; off when absent. */
  loadShedding?: LoadSheddingOptions
  /** CORS origins and credentials; no CORS headers when the list is empty. */
  cors?: { origins: string[]; credentials: boolean }
  /** Node HTTP server limits; Node's defaults when absent. */
  limits?: {
    maxHeaderSize: number
    requestTimeoutMs: number
    headersTimeoutMs: number
    keepAliveTimeoutMs: number
  }
  /** How many reverse proxies to trust for the client address (default 0: the socket's). */
  trustProxyHops?: number
  /** Once true, readiness fails (shutdown has begun). */
  isShuttingDown?: () => boolean
  /** Browser sessions in HttpOnly cookies; off when absent. */
  authCookies?: AuthCookieOptions
  /** OAuth2 / OpenID Connect sign-in; no `/auth/oauth2` routes when absent. */
  oauth?: {
    providers: readonly OAuthProviderConfig[]
    /** Public base URL of this server, for `redirect_uri` (read per request). */
    publicUrl(): string
    /** Origins a sign-in may redirect back to. */
    redirectOrigins: readonly string[]
  }
  /**
   * `/graphql`: on unless `false`. Limits default to DEFAULT_GRAPHQL_LIMITS; a browser opening
   * it is sent to the dashboard's GraphQL explorer unless `explorer: false` (or no dashboard).
   */
  graphql?: { limits?: Partial<GraphqlLimits>; explorer?: boolean } | false
  /**
   * Keeps record reads' answers (`ER_CACHE`); invalidated by every write this engine commits
   * (and, through the cache's bus, by every other node's). Reads always carry ETags and
   * Cache-Control, with or without it.
   */
  responseCache?: ResponseCache
  /** Read replicas (`DATABASE_REPLICA_URLS`): record reads that tolerate lag go there. */
  replicaReads?: ReplicaReadOptions
  /** The page at `GET /` (default true); `false` leaves `/` a 404 like any unknown path. */
  landingPage?: boolean
  /** First-run setup (`/_/setup`, `POST /api/setup`); absent: no such routes. */
  firstRunSetup?: FirstRunSetup
  /** The dashboard's build folder served at `/_/` (default `admin/dist`); `false`: no `/_/`. */
  adminDir?: string | false
  /**
   * The career hub page's build folder served at `/hub/` (default `hub/dist`) when the database
   * holds the career-hub template; `false`: no `/hub/` at all.
   */
  hubDir?: string | false
  /** `/api/backups` and the backup gauges; no backup routes when absent. */
  backups?: BackupsService
  /**
   * The dashboard's charts and log viewer (`/api/admin/metrics`, `/api/admin/logs`): metrics
   * sampled every `sampleIntervalMs` (default 10 s) into a one-hour ring, and the log lines
   * `logs` keeps (the ring given to `loggerOptions({ onLine })`). `false`: no such routes.
   */
  observability?: { logs?: LogRing; sampleIntervalMs?: number } | false
}

/** The dashboard's GraphiQL, where `GET /graphql` sends a browser. */
export const GRAPHQL_EXPLORER_URL = '/_/#/graphql'

/** The explorer lives in the dashboard: served when GraphQL, the explorer and `/_/` are on. */
function explorerServed(options: ServerOptions): boolean {
  return (
    options.graphql !== false && options.graphql?.explorer !== false && options.adminDir !== false
  )
}

/**
 * Builds the HTTP app over an engine. It never listens: the CLI does, and tests use `inject`.
 *
 * @example
 *   const app = await buildServer(engine)
 *   const res = await app.inject({ method: 'GET', url: '/healthz' })
 */
export async function buildServer(
  engine: Engine,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const { limits } = options
  // Believe X-Forwarded-For for exactly this many proxy hops, never more. One function for
  // Fastify's `request.ip` and for WebSocket upgrades, which never reach a route.
  const trustProxy = (_address: string, hop: number) => hop < (options.trustProxyHops ?? 0)
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request from registerResponseObservers instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    // Shutdown closes idle connections itself, after a grace period (see graceful-shutdown.ts).
    forceCloseConnections: false,
    // Requests that reach a kept-alive connection after the listener closed are served (and
    // told to close the connection, below) rather than answered 503: a proxy never retries a
    // POST it has already sent, so a 503 there is a write the client sees fail.
    return503OnClosing: false,
    trustProxy,
    // Path parameters longer than this never match a route (names ≤ 63, ids ≤ 64 characters).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { allErrors: true, coerceTypes: false } },
    frameworkErrors: replyFrameworkError,
    ...(limits
      ? {
          http: { maxHeaderSize: limits.maxHeaderSize },
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          // Idle sockets that never send a full request are cut (slowloris).
          connectionTimeout: limits.requestTimeoutMs,
        }
      : {}),
  })
  // Fastify has no option for it: the time allowed to receive the request head.
  if (limits) app.server.headersTimeout = limits.headersTimeoutMs
  // Tracing first, so the server span covers every other hook.
  if (options.tracing) registerTracing(app)
  registerProblemDetails(app)
  if (options.isShuttingDown) {
    const closing = options.isShuttingDown
    app.addHook('onSend', (_request, reply, payload, done) => {
      // Only once the listener has closed: during the drain, connections stay open on purpose.
      if (closing() && !app.server.listening) reply.header('connection', 'close')
      done(null, payload)
    })
  }
  const metrics = options.metrics ?? createMetrics()
  // No logger, no log line: building one only for Fastify's no-op logger costs every request.
  registerResponseObservers(app, { metrics, logging: Boolean(options.logger) })
  registerEngineGauges(metrics, engine)
  // A realtime subscriber that fails on the server: one JSON log line and a count each.
  const reportRealtimeFailure = reportRealtimeFailures(app, metrics, engine)
  if (options.backups) registerBackupGauges(metrics, options.backups)
  // Only JSON bodies exist in this API; everything else is a 415 from Fastify itself.
  app.removeContentTypeParser(['text/plain'])
  registerJsonParser(app)

  // Settings saved through /api/admin/settings override the options below (unless the
  // environment fixes them), from the next request on and on every node.
  const live = liveSettings(engine.settings, options)
  app.addHook('onClose', async () => live.stop())
  await registerSecurityHeaders(app, {
    corsOrigins: live.corsOrigins,
    corsCredentials: options.cors?.credentials,
  })
  if (options.loadShedding) await registerLoadShedding(app, options.loadShedding)
  const { auth, tokens } = engine
  if (options.rateLimit) {
    await registerRateLimit(app, {
      ...options.rateLimit,
      live: live.rateLimits,
      identifyCaller: async (request, token) => {
        if (token.startsWith(API_KEY_PREFIX)) {
          // The route needs this identity too: found once, remembered on the request.
          const { auth: identity } = await contextOf(request, auth)
          if (!identity?.apiKey) throw new Error('not an API key')
          return { subject: `key:${identity.apiKey.id}`, kind: 'apiKey' as const }
        }
        const claims = await tokens.verify(token)
        return {
          subject: `${claims.cid}:${claims.sub}`,
          kind: claims.cid === SUPERUSERS.id ? ('superuser' as const) : ('user' as const),
        }
      },
    })
  }

  if (options.authCookies) await registerAuthCookies(app, options.authCookies)
  registerIdempotency(app, {
    ledger: engine.store.idempotency,
    auth,
    ttlSeconds: options.idempotencyTtlSeconds,
  })

  await app.register(healthRoutes, {
    checks: [
      { name: 'store', check: () => engine.store.ping() },
      {
        name: 'migrations',
        check: async () => {
          const missing = await engine.store.missingSystemMigrations()
          if (missing.length > 0) throw new Error(`not applied: ${missing.join(', ')}`)
        },
      },
      ...(options.readinessChecks ?? []),
    ],
    isShuttingDown: options.isShuttingDown,
  })
  if (options.metricsRoute !== false) {
    await app.register(metricsRoutes, { metrics, token: options.metricsRoute?.token })
  }
  await app.register(collectionsRoutes, { schema: engine.schema, auth })
  await app.register(jobsRoutes, { jobs: engine.jobs, auth })
  await app.register(webhooksRoutes, { webhooks: engine.webhooks, auth })
  await app.register(schedulesRoutes, { schedules: engine.jobs.storedSchedules, auth })
  await app.register(mailTemplatesRoutes, { mail: engine.mail, auth })
  if (options.backups)
    await app.register(backupsRoutes, {
      backups: options.backups,
      auth,
      store: engine.store,
      clock: engine.clock,
    })
  await app.register(auditRoutes, { store: engine.store, auth })
  await app.register(settingsRoutes, { settings: engine.settings, auth })
  if (options.observability !== false) {
    const history = createMetricsHistory(metrics, {
      intervalMs: options.observability?.sampleIntervalMs,
    })
    app.addHook('onClose', async () => history.stop())
    await app.register(observabilityRoutes, { auth, history, logs: options.observability?.logs })
  }
  await app.register(privacyRoutes, {
    deps: {
      store: engine.store,
      registry: engine.registry,
      blobs: engine.blobs,
      records: engine.records,
      clock: engine.clock,
      purposes: engine.consentPurposes,
    },
    auth,
  })
  if (engine.files) {
    const files = engine.files
    // Multipart bodies are streamed by the files service; busboy's own caps sit just above the
    // service's limits, which answer first with a problem naming the limit.
    const limits = files.limits
    await app.register(multipart, {
      limits: {
        fieldNameSize: 200,
        fieldSize: options.bodyLimit ?? 1024 * 1024,
        fields: 1000,
        fileSize: limits.maxRequestBytes + 1,
        files: limits.maxFilesPerRequest + 1,
        parts: 1000 + limits.maxFilesPerRequest + 1,
        headerPairs: 100,
      },
    })
    await app.register(filesRoutes, { files, auth })
    await app.register(tusRoutes, { files, auth })
  }
  const { responseCache } = options
  if (responseCache) {
    // After the commit, on the node that wrote: the bump reaches the others through the bus.
    const stop = engine.store.onRecordsWritten((names) => void responseCache.bump(names))
    app.addHook('onClose', async () => stop())
  }
  const cacheOutcomes = registerCacheMetrics(metrics, responseCache)
  const readThrough = options.replicaReads
    ? registerReplicaReads(app, metrics, options.replicaReads)
    : undefined
  await app.register(recordsRoutes, {
    records: engine.records,
    auth,
    files: engine.files,
    cachedRead: createCachedReads({
      registry: engine.registry,
      cache: responseCache,
      onOutcome: cacheOutcomes,
      ...(readThrough ? { readThrough } : {}),
    }),
  })
  await app.register(authEmailRoutes, { auth })
  if (engine.payments) await app.register(paymentsRoutes, { payments: engine.payments, auth })
  await app.register(authApiKeyRoutes, { auth })
  await app.register(authRoutes, { auth, tokens, cookies: options.authCookies })
  if (options.oauth) {
    const { store, recordsDeps } = engine
    // Loaded here rather than at the top to keep this module's imports light; openid-client
    // itself waits for the first sign-in through a provider (loadOpenIdClient).
    const { createOAuthService } = await import('../services/auth/auth-oauth.js')
    const { authOAuthRoutes } = await import('./rest/auth-oauth-routes.js')
    const oauth = createOAuthService({
      ...options.oauth,
      providers: live.oauthProviders,
      store,
      clock: recordsDeps.clock,
      passwords: recordsDeps.passwords,
      auth,
      onCommit: recordsDeps.onCommit,
    })
    await app.register(authOAuthRoutes, { oauth })
  }
  if (engine.realtime) {
    const { service, hub } = engine.realtime
    await app.register(realtimeRoutes, { realtime: service, hub, auth })
  }
  if (options.graphql !== false) {
    const limits = options.graphql?.limits
    // Without realtime no subscription can run, but sockets are still counted and capped.
    const connections = engine.realtime?.connections ?? new RealtimeConnections(DEFAULT_REALTIME)
    let endpoint: Promise<GraphqlEndpoint> | undefined
    // graphql-js and everything built on it, loaded by the first GraphQL request or upgrade.
    const graphql = () =>
      (endpoint ??= import('./graphql/graphql-endpoint.js')
        .then(({ createGraphqlEndpoint }) =>
          createGraphqlEndpoint({
            registry: engine.registry,
            records: engine.records,
            auth,
            realtime: engine.realtime?.service,
            limits,
            maxPayload: options.bodyLimit ?? 1024 * 1024,
            onInternalError: reportRealtimeFailure,
            connections,
          }),
        )
        .catch((error: unknown) => {
          // Not remembered: the next request tries again instead of failing for the process's life.
          endpoint = undefined
          throw error
        }))
    await app.register(graphqlRoutes, {
      handler: async () => (await graphql()).http,
      explorerUrl: explorerServed(options) ? GRAPHQL_EXPLORER_URL : undefined,
    })
    registerGraphqlWs(app, {
      server: async () => (await graphql()).ws,
      connections,
      clientAddress: (request) => proxyAddr(request, trustProxy),
    })
  }
  const extension = engine.extension
  const routes = extension?.registrations.routes ?? []
  if (extension && routes.length > 0) {
    await app.register(extensionRoutes, {
      routes: () => extension.registrations.routes,
      records: engine.records,
      registry: engine.registry,
      auth,
    })
  }
  await app.register(openApiRoutes, {
    documents: createOpenApiDocuments({
      registry: engine.registry,
      payments: engine.payments !== undefined,
      ...(routes.length > 0 ? { extensionPaths: buildExtensionPaths(routes) } : {}),
    }),
    auth,
  })
  // The pages for people in a browser: e-mail links, and what `/` says.
  await app.register(pageAssetRoutes)
  await app.register(authLinkPages)
  if (options.firstRunSetup) await app.register(setupRoutes, { setup: options.firstRunSetup })
  if (options.adminDir !== false) {
    await app.register(adminRoutes, { dir: options.adminDir ?? DEFAULT_ADMIN_DIR })
  }
  const holdsCareerHub = async () => (await appliedTemplate(engine.store)) === 'career-hub'
  if (options.hubDir !== false) {
    await app.register(hubRoutes, {
      dir: options.hubDir ?? DEFAULT_HUB_DIR,
      holdsTemplate: holdsCareerHub,
    })
  }
  if (options.landingPage !== false) {
    await app.register(landingPage, {
      graphqlExplorer: explorerServed(options),
      ...(options.hubDir !== false ? { careerHub: holdsCareerHub } : {}),
    })
  }
  return app
}
