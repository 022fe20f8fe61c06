import { resolve } from 'node:path'
import { Cron } from 'croner'
import type { OAuthProviderConfig } from '../services/auth/auth-oauth-providers.js'
import {
  parseRetention as parseBackupRetention,
  type RetentionPolicy,
} from '../services/backups/backup-retention.js'
import {
  CONSENT_PURPOSE_PATTERN,
  MAX_CONSENT_PURPOSES,
} from '../services/privacy/privacy-consents.js'

/**
 * The server's settings, from flags and environment (flags win). Every value is checked at start;
 * a bad one stops the process with one line naming the setting and what it expects.
 */
export interface Config {
  /** `ER_HTTP` / `--http`: where to listen (default 127.0.0.1:8090). */
  http: { host: string; port: number }
  /** `ER_DIR` / `--dir`: data directory: SQLite file, migrations (default ./er_data). */
  dataDir: string
  /** `ER_EXTENSIONS` / `--extensions`: the extension module (TypeScript or JavaScript), if any. */
  extensions: string | undefined
  /** `DATABASE_URL`: `postgres://…` selects PostgreSQL; unset means SQLite in the data directory. */
  databaseUrl: string | undefined
  /** `REDIS_URL`: `redis://…`; reserved for the distributed cache, bus and rate limits. */
  redisUrl: string | undefined
  /**
   * `DATABASE_REPLICA_URLS`: comma-separated `postgres://…` read replicas of `DATABASE_URL`;
   * REST record lists and gets by ordinary callers read there (default none).
   */
  replicaUrls: string[]
  /**
   * `ER_REPLICA_PIN_SECONDS`: after a write, its caller reads from the primary for this long, so
   * it sees its own writes; keep it above the replicas' lag (default 5).
   */
  replicaPinSeconds: number
  /**
   * `ER_BUS_PREFIX`: prefix of every Redis channel and key of this deployment. Unset: `er:` and
   * the deployment's id (made once, kept in its database), so deployments sharing a Redis server
   * (whatever their DB index: pub/sub ignores it) never see each other's events or counters.
   */
  busPrefix: string | undefined
  /** `ER_BODY_LIMIT`: largest request body in bytes (default 1048576). */
  bodyLimit: number
  /** `ER_TOKEN_TTL`: access token lifetime in seconds (default 3600). */
  tokenTtlSeconds: number
  /** `ER_IDEMPOTENCY_TTL`: seconds an `Idempotency-Key` and its answer are kept (default 24 h). */
  idempotencyTtlSeconds: number
  /** `ER_SQLITE_SYNC`: NORMAL (default; survives a process crash) or FULL (also power loss). */
  sqliteSynchronous: 'NORMAL' | 'FULL'
  /** `ER_LOG_LEVEL`: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `ER_PG_POOL`: PostgreSQL connections per process (default 10). */
  pgPoolSize: number
  /** `ER_LOG_FORMAT`: `json` (default, one object per line) or `pretty` (for a terminal). */
  logFormat: 'json' | 'pretty'
  /** Operations: metrics, rate limits, headers, timeouts, load shedding, shutdown, tracing. */
  ops: OpsConfig
  /** `ER_SESSION_TTL`: absolute sign-in session (refresh token) lifetime in seconds (default 30 days). */
  sessionTtlSeconds: number
  /**
   * `ER_AUTH_RECHECK_MS`: how long a node trusts a checked caller before reading its session
   * again (default 1000; 0 = every request). Revocations on the same node act at once.
   */
  authRecheckMs: number
  /** `ER_AUTH_COOKIE`: `off` (default), or `lax`/`strict` to offer HttpOnly cookie sessions with that SameSite. */
  authCookie: 'off' | 'lax' | 'strict'
  /** `ER_TRUSTED_ORIGINS`: comma-separated origins allowed to send cookie-authenticated writes. */
  trustedOrigins: string[]
  /** `ER_SMTP_URL`: `smtp://user:pass@host:587` or `smtps://…`; unset writes mails to `<dir>/outbox/`. */
  smtpUrl: string | undefined
  /** `ER_MAIL_FROM`: sender of the auth e-mails (default `Engine Room <no-reply@localhost>`). */
  mailFrom: string
  /**
   * The variables of run-time settings (`ER_SMTP_URL`, `ER_MAIL_FROM`, `ER_OAUTH_PROVIDERS`,
   * `ER_RATE_LIMIT_*`, `ER_CORS_ORIGINS`) present in the environment: the Settings API shows
   * those settings read-only, since the environment wins.
   */
  settingVariables: string[]
  /** Background jobs and webhooks. */
  jobs: {
    /** `ER_JOBS_CONCURRENCY`: jobs run at once by `serve` (0: none; run `engineroom worker`) (default 4). */
    concurrency: number
    /**
     * `ER_JOBS_PREFIX`: Redis key prefix of the BullMQ queue. Unset: the deployment's own prefix
     * (see `busPrefix`), so two deployments sharing a Redis server never take each other's jobs.
     */
    prefix: string | undefined
    /**
     * `ER_WEBHOOK_ALLOW_HOSTS`: comma-separated host names or addresses that webhooks may reach
     * even though they are loopback, private or link-local (default none).
     */
    webhookAllowHosts: string[]
  }
  /** `ER_APP_URL`: public URL of the app that opens e-mailed links (default `http://<ER_HTTP>`). */
  appUrl: string
  /**
   * `ER_OAUTH_PROVIDERS`: JSON array of sign-in providers (default none).
   *
   * @example
   *   ER_OAUTH_PROVIDERS='[{"name":"corp","issuer":"https://idp.example","clientId":"er","clientSecret":"…"},
   *     {"name":"google","preset":"google","clientId":"…","clientSecret":"…","collection":"users"}]'
   */
  oauthProviders: OAuthProviderConfig[]
  /**
   * `ER_PAYMENTS_PROVIDER`: `test` (a built-in provider whose page plays the customer; refused
   * when NODE_ENV=production) or `stripe` (with `ER_STRIPE_SECRET_KEY` and
   * `ER_STRIPE_WEBHOOK_SECRET`); unset: no payments.
   */
  payments:
    | { provider: 'test' }
    | { provider: 'stripe'; secretKey: string; webhookSecret: string }
    | undefined
  /** Realtime change feeds (`GET /api/realtime`). */
  realtime: {
    /** `ER_REALTIME_RETENTION`: how long events stay for replay: `24h`, `90m`, `7d`, or `5000` events. */
    retention: { seconds?: number; events?: number }
    /** `ER_REALTIME_HEARTBEAT`: seconds between heartbeat comments (default 15). */
    heartbeatMs: number
    /**
     * `ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION` (older name `ER_REALTIME_MAX_TOPICS`): topics
     * of one SSE stream, or operations at once on one GraphQL WebSocket (default 20).
     */
    maxSubscriptionsPerConnection: number
    /**
     * `ER_REALTIME_MAX_CONNECTIONS`: open realtime connections (SSE streams and GraphQL
     * WebSockets together) per user and process (default 10).
     */
    maxConnectionsPerUser: number
    /** `ER_REALTIME_MAX_PER_ADDRESS`: open realtime connections per client address (default 100). */
    maxConnectionsPerAddress: number
    /** `ER_REALTIME_MAX_TOTAL`: open realtime connections on this process (default 10000). */
    maxConnectionsTotal: number
    /** `ER_REALTIME_BUFFER`: bytes a slow client may leave unread before it is cut off (default 1 MiB). */
    maxBufferBytes: number
    /**
     * `ER_REALTIME_LEASE_SECONDS`: with `REDIS_URL`, each per-user connection slot is a lease in
     * Redis renewed by its node; a node that dies frees its slots after this long (default 30).
     */
    leaseSeconds: number
    /**
     * `ER_REALTIME_TICKET_RECONNECT_SECONDS`: how long after its first stream a realtime ticket
     * still reopens that same stream, so a browser's EventSource reconnects by itself (default
     * 600; 0 makes tickets single-use).
     */
    ticketReconnectSeconds: number
  }
  /** `--workers N` / `ER_WORKERS`: processes serving the embedded SQLite mode (default 1). */
  workers: number
  /** Files of `file` fields: where they are stored and the upload limits. */
  files: FilesConfig
  /** Backups (`engineroom backup`, `/api/backups`, scheduled backups in `serve`). */
  backup: BackupConfig
  /**
   * Scheduled retention: collections' `retention` and the audit log's. `ER_RETENTION_SCHEDULE`
   * (cron, UTC; default hourly `0 * * * *`), `ER_AUDIT_KEEP_DAYS` (unset: kept for ever).
   */
  retention: { schedule: string; auditKeepDays: number | undefined }
  /**
   * `ER_CONSENT_PURPOSES`: the purposes people may consent to (`POST /api/privacy/consents`),
   * comma-separated keys like `newsletter,analytics` (lower case, digits, `_ . -`, up to 64
   * characters, at most 50). Unset: none, and every consent is refused naming `purpose`.
   */
  consentPurposes: string[]
  /** `/graphql` (HTTP and WebSocket). */
  graphql: {
    /** `ER_GRAPHQL`: serve GraphQL at all (default true). */
    enabled: boolean
    /** `ER_GRAPHQL_MAX_DEPTH`: deepest field nesting (default 12). */
    maxDepth: number
    /** `ER_GRAPHQL_MAX_COST`: largest estimated cost of one operation (default 50000). */
    maxCost: number
    /** `ER_GRAPHQL_MAX_ALIASES`: aliased fields per document (default 30). */
    maxAliases: number
    /** `ER_GRAPHQL_MAX_BATCH`: operations per batched request (default 10). */
    maxBatch: number
    /** `ER_GRAPHQL_INTROSPECTION`: allow `__schema`/`__type` (default: false when NODE_ENV=production). */
    introspection: boolean
    /** `ER_GRAPHQL_EXPLORER`: GET /graphql in a browser goes to the dashboard's explorer (default: false when NODE_ENV=production). */
    explorer: boolean
  }
  /** The response cache for record reads (in-process LRU; Redis when `REDIS_URL` is set). */
  cache: {
    /** `ER_CACHE`: keep record reads' answers until a write invalidates them (default false). */
    enabled: boolean
    /** `ER_CACHE_MAX_BYTES`: bytes of answers the in-process LRU holds (default 67108864). */
    maxBytes: number
    /** `ER_CACHE_TTL`: seconds an answer is kept at most (default 60). */
    ttlSeconds: number
  }
  /** `ER_LANDING_PAGE`: a small page at `GET /` linking the dashboard, docs and health (default true). */
  landingPage: boolean
  /** What `expand` may add to one response (REST, and each GraphQL list or record field). */
  expand: {
    /** `ER_EXPAND_MAX_PER_RELATION`: records one relation may expand for one record (default 1000). */
    maxPerRelation: number
    /** `ER_EXPAND_MAX_RECORDS`: expanded records in one response, as written out (default 5000). */
    maxRecords: number
  }
}

export interface BackupConfig {
  /** `ER_BACKUP_DIR`: where archives are written and listed (default `<dir>/backups`). */
  dir: string
  /**
   * `ER_BACKUP_KEY`: a 32-byte key (64 hex or 44 base64 characters) encrypting every archive
   * with AES-256-GCM; unset writes unencrypted archives. Never stored in an archive.
   */
  key: Buffer | undefined
  /** `ER_BACKUP_SCHEDULE`: a cron expression (`0 3 * * *`, UTC) for backups inside `serve`. */
  schedule: string | undefined
  /** `ER_BACKUP_KEEP`: `7` (the newest 7) or `daily=7,weekly=4,monthly=6`; unset keeps all. */
  keep: RetentionPolicy | undefined
  /**
   * `ER_BACKUP_TARGET=s3`: archives go to an S3-compatible bucket (`ER_BACKUP_S3_*`, each
   * defaulting to the files' `ER_S3_*` value; prefix `backups/`), built in `dir` first and
   * removed from it once uploaded. Unset (`local`): archives stay in `dir`.
   */
  s3: S3Settings | undefined
}

/** An S3-compatible bucket and where in it (`ER_S3_*`, `ER_BACKUP_S3_*`). */
export interface S3Settings {
  bucket: string
  region: string
  endpoint: string | undefined
  accessKeyId: string
  secretAccessKey: string
  forcePathStyle: boolean
  prefix: string
}

export interface FilesConfig {
  /** `ER_S3_*`: S3-compatible storage; unset (no `ER_S3_BUCKET`) stores under `<dir>/storage`. */
  s3: S3Settings | undefined
  /** `ER_FILES_MAX_REQUEST_SIZE`: bytes of files one multipart request may carry (default 100 MiB). */
  maxRequestBytes: number
  /** `ER_FILES_MAX_COUNT`: file parts per multipart request (default 20). */
  maxFilesPerRequest: number
  /** `ER_FILES_MAX_PIXELS`: pixels an uploaded image may declare (default 40 million). */
  maxPixels: number
  /** `ER_FILE_TOKEN_TTL`: lifetime of file tokens in seconds (default 120). */
  tokenTtlSeconds: number
}

/** A request budget: at most `max` requests per `windowMs`. */
export interface RateBudget {
  max: number
  windowMs: number
}

export interface OpsConfig {
  /** `ER_METRICS_TOKEN`: `/metrics` requires `Authorization: Bearer <token>` (≥ 16 characters). */
  metricsToken: string | undefined
  /** `ER_METRICS_HTTP`: serve `/metrics` on this separate host:port only. */
  metricsHttp: { host: string; port: number } | undefined
  /** `ER_RATE_LIMIT_{READ,WRITE,AUTH}`: `<max>/<seconds>s` or `off`. */
  rateLimit: { read: RateBudget | null; write: RateBudget | null; auth: RateBudget | null }
  /**
   * Budgets of their own for callers that are not a person on an app: signed-in superusers
   * (`ER_RATE_LIMIT_SUPERUSER_{READ,WRITE}`, default 6000/60s and 1200/60s) and API keys, each
   * key its own budget (`ER_RATE_LIMIT_API_KEY_{READ,WRITE}`, default 3000/60s and 600/60s).
   */
  callerRateLimit: {
    superuser: { read: RateBudget | null; write: RateBudget | null }
    apiKey: { read: RateBudget | null; write: RateBudget | null }
  }
  /** `ER_TRUST_PROXY`: hops of reverse proxies to trust for the client address (default 0). */
  trustProxyHops: number
  /** `ER_CORS_ORIGINS`: exact origins allowed to call the API from a browser (default none). */
  corsOrigins: string[]
  /** `ER_CORS_CREDENTIALS`: let those origins send cookies / Authorization (default false). */
  corsCredentials: boolean
  /** `ER_MAX_HEADER_SIZE`: largest request head in bytes (default 16384). */
  maxHeaderSize: number
  /** `ER_REQUEST_TIMEOUT`: ms to receive a whole request (default 30000). */
  requestTimeoutMs: number
  /** `ER_HEADERS_TIMEOUT`: ms to receive the request head (default 10000; slowloris guard). */
  headersTimeoutMs: number
  /** `ER_KEEP_ALIVE_TIMEOUT`: ms an idle keep-alive connection stays open (default 72000). */
  keepAliveTimeoutMs: number
  /** `ER_SHED_EVENT_LOOP_DELAY` (ms), `ER_SHED_HEAP_BYTES`, `ER_SHED_RSS_BYTES`; 0 = no limit. */
  shedding: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number; maxRssBytes: number }
  /** `ER_SHUTDOWN_DRAIN`: ms to keep serving (readiness 503) after a signal, for load balancers. */
  shutdownDrainMs: number
  /** `ER_SHUTDOWN_TIMEOUT`: ms allowed for requests in flight before connections are cut. */
  shutdownTimeoutMs: number
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: tracing is on only when set. */
  otlpEndpoint: string | undefined
  /** `OTEL_SERVICE_NAME`: the service name on spans (default engineroom). */
  serviceName: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function parsePayments(env: NodeJS.ProcessEnv): Config['payments'] {
  const provider = parseChoice(
    env.ER_PAYMENTS_PROVIDER || undefined,
    'ER_PAYMENTS_PROVIDER',
    ['off', 'test', 'stripe'] as const,
    'off',
  )
  if (provider === 'off') return undefined
  if (provider === 'test') {
    if (env.NODE_ENV === 'production') {
      throw new ConfigError(
        'ER_PAYMENTS_PROVIDER=test lets anyone pay without paying; it is refused when ' +
          'NODE_ENV=production. Use stripe, or unset NODE_ENV for a demo.',
      )
    }
    return { provider }
  }
  const secretKey = env.ER_STRIPE_SECRET_KEY
  const webhookSecret = env.ER_STRIPE_WEBHOOK_SECRET
  if (!secretKey || !/^(sk|rk)_(live|test)_/.test(secretKey)) {
    throw new ConfigError(
      'ER_PAYMENTS_PROVIDER=stripe needs ER_STRIPE_SECRET_KEY (sk_live_… or sk_test_…).',
    )
  }
  if (!webhookSecret || !webhookSecret.startsWith('whsec_')) {
    throw new ConfigError(
      "ER_PAYMENTS_PROVIDER=stripe needs ER_STRIPE_WEBHOOK_SECRET (the endpoint's whsec_… secret).",
    )
  }
  return { provider, secretKey, webhookSecret }
}

export interface ConfigInput {
  http?: string | undefined
  dir?: string | undefined
  extensions?: string | undefined
  workers?: string | undefined
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * @example
 *   loadConfig({ http: '0.0.0.0:8090' }, process.env)
 */
const SETTING_VARIABLES = new Set([
  'ER_SMTP_URL',
  'ER_MAIL_FROM',
  'ER_OAUTH_PROVIDERS',
  'ER_CORS_ORIGINS',
])

export function loadConfig(flags: ConfigInput, env: NodeJS.ProcessEnv): Config {
  const dataDir = resolve(flags.dir ?? env.ER_DIR ?? './er_data')
  return {
    http: parseListen(
      flags.http ?? env.ER_HTTP ?? '127.0.0.1:8090',
      flags.http ? '--http' : 'ER_HTTP',
    ),
    dataDir,
    extensions: (flags.extensions ?? env.ER_EXTENSIONS) || undefined,
    databaseUrl: parseUrl(env.DATABASE_URL, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: parseUrl(env.REDIS_URL, 'REDIS_URL', ['redis:', 'rediss:']),
    replicaUrls: parseReplicaUrls(env),
    replicaPinSeconds: parseInteger(
      env.ER_REPLICA_PIN_SECONDS,
      'ER_REPLICA_PIN_SECONDS',
      5,
      1,
      3600,
    ),
    busPrefix: parseBusPrefix(env.ER_BUS_PREFIX),
    bodyLimit: parseInteger(
      env.ER_BODY_LIMIT,
      'ER_BODY_LIMIT',
      1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
    tokenTtlSeconds: parseInteger(env.ER_TOKEN_TTL, 'ER_TOKEN_TTL', 3600, 60, 30 * 24 * 3600),
    idempotencyTtlSeconds: parseInteger(
      env.ER_IDEMPOTENCY_TTL,
      'ER_IDEMPOTENCY_TTL',
      24 * 3600,
      60,
      30 * 24 * 3600,
    ),
    sqliteSynchronous: parseChoice(
      env.ER_SQLITE_SYNC,
      'ER_SQLITE_SYNC',
      ['NORMAL', 'FULL'] as const,
      'NORMAL',
    ),
    logLevel: parseChoice(env.ER_LOG_LEVEL, 'ER_LOG_LEVEL', LOG_LEVELS, 'info'),
    pgPoolSize: parseInteger(env.ER_PG_POOL, 'ER_PG_POOL', 10, 1, 1000),
    logFormat: parseChoice(env.ER_LOG_FORMAT, 'ER_LOG_FORMAT', ['json', 'pretty'] as const, 'json'),
    ops: loadOpsConfig(env),
    graphql: loadGraphqlConfig(env),
    cache: {
      enabled: parseBoolean(env.ER_CACHE, 'ER_CACHE', false),
      maxBytes: parseInteger(
        env.ER_CACHE_MAX_BYTES,
        'ER_CACHE_MAX_BYTES',
        64 * 1024 * 1024,
        1024 * 1024,
        16 * 1024 * 1024 * 1024,
      ),
      ttlSeconds: parseInteger(env.ER_CACHE_TTL, 'ER_CACHE_TTL', 60, 1, 24 * 3600),
    },
    landingPage: parseBoolean(env.ER_LANDING_PAGE, 'ER_LANDING_PAGE', true),
    expand: {
      maxPerRelation: parseInteger(
        env.ER_EXPAND_MAX_PER_RELATION,
        'ER_EXPAND_MAX_PER_RELATION',
        1000,
        1,
        1_000_000,
      ),
      maxRecords: parseInteger(
        env.ER_EXPAND_MAX_RECORDS,
        'ER_EXPAND_MAX_RECORDS',
        5000,
        1,
        1_000_000,
      ),
    },
    sessionTtlSeconds: parseInteger(
      env.ER_SESSION_TTL,
      'ER_SESSION_TTL',
      30 * 24 * 3600,
      300,
      400 * 24 * 3600,
    ),
    authRecheckMs: parseInteger(env.ER_AUTH_RECHECK_MS, 'ER_AUTH_RECHECK_MS', 1000, 0, 60_000),
    authCookie: parseChoice(
      env.ER_AUTH_COOKIE?.toLowerCase(),
      'ER_AUTH_COOKIE',
      ['off', 'lax', 'strict'] as const,
      'off',
    ),
    trustedOrigins: parseOrigins(env.ER_TRUSTED_ORIGINS, 'ER_TRUSTED_ORIGINS'),
    smtpUrl: parseUrl(env.ER_SMTP_URL, 'ER_SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: parseMailFrom(env.ER_MAIL_FROM),
    settingVariables: Object.keys(env).filter(
      (name) =>
        (env[name] ?? '') !== '' &&
        (SETTING_VARIABLES.has(name) || name.startsWith('ER_RATE_LIMIT_')),
    ),
    jobs: {
      concurrency: parseInteger(env.ER_JOBS_CONCURRENCY, 'ER_JOBS_CONCURRENCY', 4, 0, 1000),
      prefix: env.ER_JOBS_PREFIX || undefined,
      webhookAllowHosts: (env.ER_WEBHOOK_ALLOW_HOSTS ?? '')
        .split(',')
        .map((host) =>
          host
            .trim()
            .toLowerCase()
            .replace(/^\[(.*)\]$/, '$1'),
        )
        .filter((host) => host !== ''),
    },
    appUrl: (
      parseUrl(env.ER_APP_URL, 'ER_APP_URL', ['https:', 'http:']) ??
      `http://${flags.http ?? env.ER_HTTP ?? '127.0.0.1:8090'}`
    ).replace(/\/+$/, ''),
    oauthProviders: parseOAuthProviders(env.ER_OAUTH_PROVIDERS),
    payments: parsePayments(env),
    realtime: {
      retention: parseRetention(env.ER_REALTIME_RETENTION),
      heartbeatMs:
        parseInteger(env.ER_REALTIME_HEARTBEAT, 'ER_REALTIME_HEARTBEAT', 15, 1, 3600) * 1000,
      maxSubscriptionsPerConnection:
        env.ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION === undefined
          ? parseInteger(env.ER_REALTIME_MAX_TOPICS, 'ER_REALTIME_MAX_TOPICS', 20, 1, 1000)
          : parseInteger(
              env.ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION,
              'ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION',
              20,
              1,
              1000,
            ),
      maxConnectionsPerUser: parseInteger(
        env.ER_REALTIME_MAX_CONNECTIONS,
        'ER_REALTIME_MAX_CONNECTIONS',
        10,
        1,
        100_000,
      ),
      maxConnectionsPerAddress: parseInteger(
        env.ER_REALTIME_MAX_PER_ADDRESS,
        'ER_REALTIME_MAX_PER_ADDRESS',
        100,
        1,
        1_000_000,
      ),
      maxConnectionsTotal: parseInteger(
        env.ER_REALTIME_MAX_TOTAL,
        'ER_REALTIME_MAX_TOTAL',
        10_000,
        1,
        1_000_000,
      ),
      maxBufferBytes: parseInteger(
        env.ER_REALTIME_BUFFER,
        'ER_REALTIME_BUFFER',
        1024 * 1024,
        1024,
        1024 * 1024 * 1024,
      ),
      leaseSeconds: parseInteger(
        env.ER_REALTIME_LEASE_SECONDS,
        'ER_REALTIME_LEASE_SECONDS',
        30,
        2,
        600,
      ),
      // At most a day: each reconnect re-identifies the token, but a shorter window keeps a
      // leaked ticket URL (proxy logs, history) useful for less time.
      ticketReconnectSeconds: parseInteger(
        env.ER_REALTIME_TICKET_RECONNECT_SECONDS,
        'ER_REALTIME_TICKET_RECONNECT_SECONDS',
        600,
        0,
        86_400,
      ),
    },
    files: loadFilesConfig(env),
    backup: loadBackupConfig(env, dataDir),
    retention: loadRetentionConfig(env),
    consentPurposes: parseConsentPurposes(env.ER_CONSENT_PURPOSES),
    workers: parseInteger(
      flags.workers ?? env.ER_WORKERS,
      flags.workers ? '--workers' : 'ER_WORKERS',
      1,
      1,
      256,
    ),
  }
}

const HOUR_MS = 3600_000

function loadOpsConfig(env: NodeJS.ProcessEnv): OpsConfig {
  const metricsToken = env.ER_METRICS_TOKEN || undefined
  // A short token is guessable; refusing it beats a /metrics that only looks protected.
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    throw new ConfigError(
      'ER_METRICS_TOKEN: expected 16 to 256 printable characters without spaces',
    )
  }
  return {
    metricsToken,
    metricsHttp: env.ER_METRICS_HTTP
      ? parseListen(env.ER_METRICS_HTTP, 'ER_METRICS_HTTP')
      : undefined,
    rateLimit: {
      read: parseBudget(env.ER_RATE_LIMIT_READ, 'ER_RATE_LIMIT_READ', '600/60s'),
      write: parseBudget(env.ER_RATE_LIMIT_WRITE, 'ER_RATE_LIMIT_WRITE', '120/60s'),
      auth: parseBudget(env.ER_RATE_LIMIT_AUTH, 'ER_RATE_LIMIT_AUTH', '10/60s'),
    },
    callerRateLimit: {
      superuser: {
        read: parseBudget(
          env.ER_RATE_LIMIT_SUPERUSER_READ,
          'ER_RATE_LIMIT_SUPERUSER_READ',
          '6000/60s',
        ),
        write: parseBudget(
          env.ER_RATE_LIMIT_SUPERUSER_WRITE,
          'ER_RATE_LIMIT_SUPERUSER_WRITE',
          '1200/60s',
        ),
      },
      apiKey: {
        read: parseBudget(env.ER_RATE_LIMIT_API_KEY_READ, 'ER_RATE_LIMIT_API_KEY_READ', '3000/60s'),
        write: parseBudget(
          env.ER_RATE_LIMIT_API_KEY_WRITE,
          'ER_RATE_LIMIT_API_KEY_WRITE',
          '600/60s',
        ),
      },
    },
    trustProxyHops: parseInteger(env.ER_TRUST_PROXY, 'ER_TRUST_PROXY', 0, 0, 10),
    corsOrigins: parseOrigins(env.ER_CORS_ORIGINS, 'ER_CORS_ORIGINS'),
    corsCredentials: parseBoolean(env.ER_CORS_CREDENTIALS, 'ER_CORS_CREDENTIALS', false),
    maxHeaderSize: parseInteger(
      env.ER_MAX_HEADER_SIZE,
      'ER_MAX_HEADER_SIZE',
      16384,
      1024,
      1024 * 1024,
    ),
    requestTimeoutMs: parseInteger(
      env.ER_REQUEST_TIMEOUT,
      'ER_REQUEST_TIMEOUT',
      30_000,
      1000,
      HOUR_MS,
    ),
    headersTimeoutMs: parseInteger(
      env.ER_HEADERS_TIMEOUT,
      'ER_HEADERS_TIMEOUT',
      10_000,
      1000,
      HOUR_MS,
    ),
    keepAliveTimeoutMs: parseInteger(
      env.ER_KEEP_ALIVE_TIMEOUT,
      'ER_KEEP_ALIVE_TIMEOUT',
      72_000,
      1000,
      HOUR_MS,
    ),
    shedding: {
      maxEventLoopDelayMs: parseInteger(
        env.ER_SHED_EVENT_LOOP_DELAY,
        'ER_SHED_EVENT_LOOP_DELAY',
        1000,
        0,
        60_000,
      ),
      maxHeapUsedBytes: parseInteger(env.ER_SHED_HEAP_BYTES, 'ER_SHED_HEAP_BYTES', 0, 0, 2 ** 45),
      maxRssBytes: parseInteger(env.ER_SHED_RSS_BYTES, 'ER_SHED_RSS_BYTES', 0, 0, 2 ** 45),
    },
    shutdownDrainMs: parseInteger(env.ER_SHUTDOWN_DRAIN, 'ER_SHUTDOWN_DRAIN', 0, 0, 300_000),
    shutdownTimeoutMs: parseInteger(
      env.ER_SHUTDOWN_TIMEOUT,
      'ER_SHUTDOWN_TIMEOUT',
      10_000,
      100,
      300_000,
    ),
    otlpEndpoint: parseUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT', [
      'http:',
      'https:',
    ]),
    serviceName: env.OTEL_SERVICE_NAME || 'engineroom',
  }
}

/** `600/60s` → 600 requests per 60 seconds; `off` → no limit. */
function parseBudget(
  text: string | undefined,
  setting: string,
  fallback: string,
): RateBudget | null {
  const value = (text === undefined || text === '' ? fallback : text).trim()
  if (value === 'off') return null
  const match = /^(\d{1,7})\/(\d{1,5})s$/.exec(value)
  const max = Number(match?.[1])
  const seconds = Number(match?.[2])
  if (!match || max < 1 || seconds < 1) {
    throw new ConfigError(
      `${setting}: expected <requests>/<seconds>s such as 600/60s, or off, got ${JSON.stringify(text)}`,
    )
  }
  return { max, windowMs: seconds * 1000 }
}

function parseOrigins(text: string | undefined, setting: string): string[] {
  if (text === undefined || text.trim() === '') return []
  return text.split(',').map((item) => {
    const origin = item.trim()
    let url: URL | undefined
    try {
      url = new URL(origin)
    } catch {
      url = undefined
    }
    // An origin is scheme://host[:port] exactly; a path or `*` would widen what the list means.
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
      throw new ConfigError(
        `${setting}: expected comma-separated origins such as https://app.example.com, got ${JSON.stringify(origin)}`,
      )
    }
    return origin
  })
}

const OAUTH_PRESETS = ['google', 'github'] as const
const OAUTH_KEYS = new Set(['name', 'preset', 'issuer', 'clientId', 'clientSecret', 'collection'])

/** Checks `ER_OAUTH_PROVIDERS`; messages name the provider and the key, never a secret's value. */
function parseOAuthProviders(text: string | undefined): OAuthProviderConfig[] {
  if (text === undefined || text.trim() === '') return []
  const fail = (what: string) => new ConfigError(`ER_OAUTH_PROVIDERS: ${what}`)
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    throw fail('expected a JSON array of providers, got text that is not JSON')
  }
  if (!Array.isArray(list)) throw fail('expected a JSON array of providers')
  const seen = new Set<string>()
  return list.map((item: unknown, index): OAuthProviderConfig => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw fail(`provider ${index + 1}: expected an object`)
    }
    const p = item as Record<string, unknown>
    const name = p.name
    if (typeof name !== 'string' || !/^[a-z0-9_-]{1,40}$/.test(name)) {
      throw fail(`provider ${index + 1}: "name" must be 1-40 of a-z, 0-9, _ and -`)
    }
    const where = `provider "${name}"`
    const collection = p.collection ?? 'users'
    if (typeof collection !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(collection)) {
      throw fail(`${where}: "collection" must be an auth collection name`)
    }
    const key = `${collection}/${name}`
    if (seen.has(key)) throw fail(`${where}: defined twice for collection "${collection}"`)
    seen.add(key)
    const unknown = Object.keys(p).find((k) => !OAUTH_KEYS.has(k))
    if (unknown !== undefined) throw fail(`${where}: unknown key ${JSON.stringify(unknown)}`)
    for (const field of ['clientId', 'clientSecret'] as const) {
      if (typeof p[field] !== 'string' || p[field] === '' || (p[field] as string).length > 500) {
        throw fail(`${where}: "${field}" must be a non-empty string`)
      }
    }
    const base = {
      name,
      collection,
      clientId: p.clientId as string,
      clientSecret: p.clientSecret as string,
    }
    if (p.preset !== undefined) {
      if (!OAUTH_PRESETS.includes(p.preset as (typeof OAUTH_PRESETS)[number])) {
        throw fail(`${where}: "preset" must be one of ${OAUTH_PRESETS.join(', ')}`)
      }
      if (p.issuer !== undefined) throw fail(`${where}: a preset takes no "issuer"`)
      return { ...base, preset: p.preset as (typeof OAUTH_PRESETS)[number] }
    }
    if (typeof p.issuer !== 'string') throw fail(`${where}: "issuer" or "preset" is required`)
    let issuer: URL
    try {
      issuer = new URL(p.issuer)
    } catch {
      throw fail(`${where}: "issuer" must be a URL`)
    }
    // RFC 6749 §3.1 and §10.9: the endpoints MUST use TLS; plain http only for a loopback
    // identity provider (development and tests).
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname)
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && loopback)) {
      throw fail(`${where}: "issuer" must be an https URL (http only on loopback)`)
    }
    return { ...base, issuer: p.issuer }
  })
}

function loadBackupConfig(env: NodeJS.ProcessEnv, dataDir: string): BackupConfig {
  const keyText = env.ER_BACKUP_KEY?.trim() || undefined
  let key: Buffer | undefined
  if (keyText !== undefined) {
    if (/^[0-9a-fA-F]{64}$/.test(keyText)) key = Buffer.from(keyText, 'hex')
    else if (/^[A-Za-z0-9+/]{43}=?$/.test(keyText)) key = Buffer.from(keyText, 'base64')
    if (key?.length !== 32)
      throw new ConfigError(
        'ER_BACKUP_KEY: expected 32 bytes as 64 hex or 44 base64 characters (make one with: openssl rand -base64 32).',
      )
  }
  const schedule = env.ER_BACKUP_SCHEDULE?.trim() || undefined
  if (schedule !== undefined) {
    try {
      new Cron(schedule, { paused: true }).stop()
    } catch (error) {
      throw new ConfigError(
        `ER_BACKUP_SCHEDULE: expected a cron expression like "0 3 * * *", got "${schedule}" (${(error as Error).message}).`,
      )
    }
  }
  let keep: RetentionPolicy | undefined
  if (env.ER_BACKUP_KEEP?.trim()) {
    try {
      keep = parseBackupRetention(env.ER_BACKUP_KEEP)
    } catch (error) {
      throw new ConfigError(`ER_BACKUP_KEEP: ${(error as Error).message}.`)
    }
  }
  const target = env.ER_BACKUP_TARGET?.trim() || 'local'
  if (target !== 'local' && target !== 's3')
    throw new ConfigError(`ER_BACKUP_TARGET: expected local or s3, got ${JSON.stringify(target)}`)
  return {
    dir: resolve(env.ER_BACKUP_DIR || resolve(dataDir, 'backups')),
    key,
    schedule,
    keep,
    s3: target === 's3' ? loadBackupS3(env) : undefined,
  }
}

function parseConsentPurposes(text: string | undefined): string[] {
  const purposes = [
    ...new Set(
      (text ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  ]
  for (const purpose of purposes) {
    if (!CONSENT_PURPOSE_PATTERN.test(purpose)) {
      throw new ConfigError(
        `ER_CONSENT_PURPOSES: "${purpose}" is not a purpose key (lower-case letters, digits, "_", "." or "-", starting with a letter, up to 64 characters).`,
      )
    }
  }
  if (purposes.length > MAX_CONSENT_PURPOSES) {
    throw new ConfigError(`ER_CONSENT_PURPOSES: at most ${MAX_CONSENT_PURPOSES} purposes.`)
  }
  return purposes
}

function loadRetentionConfig(env: NodeJS.ProcessEnv): Config['retention'] {
  const schedule = env.ER_RETENTION_SCHEDULE?.trim() || '0 * * * *'
  try {
    new Cron(schedule, { paused: true }).stop()
  } catch (error) {
    throw new ConfigError(
      `ER_RETENTION_SCHEDULE: expected a cron expression like "0 * * * *", got "${schedule}" (${(error as Error).message}).`,
    )
  }
  const keep = env.ER_AUDIT_KEEP_DAYS?.trim()
  return {
    schedule,
    auditKeepDays: keep ? parseInteger(keep, 'ER_AUDIT_KEEP_DAYS', 365, 1, 36_500) : undefined,
  }
}

/** `ER_BACKUP_S3_<X>`, else the files' `ER_S3_<X>`: one set of credentials serves both. */
function loadBackupS3(env: NodeJS.ProcessEnv): S3Settings {
  const read = (name: string) => env[`ER_BACKUP_S3_${name}`] || env[`ER_S3_${name}`]
  const settings = loadS3Settings(
    {
      bucket: read('BUCKET'),
      region: read('REGION'),
      endpoint: read('ENDPOINT'),
      accessKey: read('ACCESS_KEY'),
      secretKey: read('SECRET_KEY'),
      forcePathStyle: read('FORCE_PATH_STYLE'),
      prefix: env.ER_BACKUP_S3_PREFIX ?? 'backups/',
    },
    'ER_BACKUP_S3_',
  )
  if (!settings) {
    throw new ConfigError(
      'ER_BACKUP_TARGET=s3 needs a bucket: set ER_BACKUP_S3_BUCKET (or ER_S3_BUCKET) and its keys',
    )
  }
  // The same objects as the files would make a backup of the bucket it is kept in.
  if (settings.bucket === env.ER_S3_BUCKET && settings.prefix === (env.ER_S3_PREFIX ?? '')) {
    throw new ConfigError(
      'ER_BACKUP_S3_PREFIX: backups need their own prefix (such as backups/) or bucket, apart from the files (ER_S3_PREFIX)',
    )
  }
  return settings
}

interface S3Text {
  bucket: string | undefined
  region: string | undefined
  endpoint: string | undefined
  accessKey: string | undefined
  secretKey: string | undefined
  forcePathStyle: string | undefined
  prefix: string
}

/** The bucket settings from their texts; undefined without a bucket. `names`: `ER_S3_` … */
function loadS3Settings(text: S3Text, names: string): S3Settings | undefined {
  const bucket = text.bucket || undefined
  if (bucket === undefined) return undefined
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(
      `${names}BUCKET: expected an S3 bucket name, got ${JSON.stringify(bucket)}`,
    )
  const accessKeyId = text.accessKey ?? ''
  const secretAccessKey = text.secretKey ?? ''
  if (accessKeyId === '' || secretAccessKey === '')
    throw new ConfigError(`${names}ACCESS_KEY and ${names}SECRET_KEY: required with ${names}BUCKET`)
  const prefix = text.prefix
  if (prefix !== '' && !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/$/.test(prefix))
    throw new ConfigError(
      `${names}PREFIX: expected segments of letters, digits, _ . - ending with /, got ${JSON.stringify(prefix)}`,
    )
  return {
    bucket,
    region: text.region || 'us-east-1',
    endpoint: parseUrl(text.endpoint, `${names}ENDPOINT`, ['https:', 'http:']),
    accessKeyId,
    secretAccessKey,
    forcePathStyle: parseBoolean(text.forcePathStyle, `${names}FORCE_PATH_STYLE`, false),
    prefix,
  }
}

function loadFilesConfig(env: NodeJS.ProcessEnv): FilesConfig {
  const s3 = loadS3Settings(
    {
      bucket: env.ER_S3_BUCKET,
      region: env.ER_S3_REGION,
      endpoint: env.ER_S3_ENDPOINT,
      accessKey: env.ER_S3_ACCESS_KEY,
      secretKey: env.ER_S3_SECRET_KEY,
      forcePathStyle: env.ER_S3_FORCE_PATH_STYLE,
      prefix: env.ER_S3_PREFIX ?? '',
    },
    'ER_S3_',
  )
  return {
    s3,
    maxRequestBytes: parseInteger(
      env.ER_FILES_MAX_REQUEST_SIZE,
      'ER_FILES_MAX_REQUEST_SIZE',
      100 * 1024 * 1024,
      1024,
      2 ** 40,
    ),
    maxFilesPerRequest: parseInteger(env.ER_FILES_MAX_COUNT, 'ER_FILES_MAX_COUNT', 20, 1, 1000),
    maxPixels: parseInteger(
      env.ER_FILES_MAX_PIXELS,
      'ER_FILES_MAX_PIXELS',
      40_000_000,
      1000,
      1_000_000_000,
    ),
    tokenTtlSeconds: parseInteger(env.ER_FILE_TOKEN_TTL, 'ER_FILE_TOKEN_TTL', 120, 10, 3600),
  }
}

function loadGraphqlConfig(env: NodeJS.ProcessEnv): Config['graphql'] {
  // Production hides the schema's shape and the explorer unless asked for.
  const development = env.NODE_ENV !== 'production'
  const limit = (name: string, fallback: number, max: number) =>
    parseInteger(env[name], name, fallback, 1, max)
  return {
    enabled: parseBoolean(env.ER_GRAPHQL, 'ER_GRAPHQL', true),
    maxDepth: limit('ER_GRAPHQL_MAX_DEPTH', 12, 100),
    maxCost: limit('ER_GRAPHQL_MAX_COST', 50_000, 10_000_000),
    maxAliases: limit('ER_GRAPHQL_MAX_ALIASES', 30, 10_000),
    maxBatch: limit('ER_GRAPHQL_MAX_BATCH', 10, 1000),
    introspection: parseBoolean(
      env.ER_GRAPHQL_INTROSPECTION,
      'ER_GRAPHQL_INTROSPECTION',
      development,
    ),
    explorer: parseBoolean(env.ER_GRAPHQL_EXPLORER, 'ER_GRAPHQL_EXPLORER', development),
  }
}

function parseBoolean(text: string | undefined, setting: string, fallback: boolean): boolean {
  if (text === undefined || text === '') return fallback
  if (['true', '1', 'yes'].includes(text.toLowerCase())) return true
  if (['false', '0', 'no'].includes(text.toLowerCase())) return false
  throw new ConfigError(`${setting}: expected true or false, got ${JSON.stringify(text)}`)
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

function parseRetention(text: string | undefined): Config['realtime']['retention'] {
  if (text === undefined || text === '') return { seconds: 24 * 3600 }
  const match = /^(\d{1,9})([smhd])?$/.exec(text.trim())
  if (!match || Number(match[1]) === 0) {
    throw new ConfigError(
      `ER_REALTIME_RETENTION: expected a duration such as 24h, 90m, 7d or a number of events such as 5000, got ${JSON.stringify(text)}`,
    )
  }
  const amount = Number(match[1])
  return match[2] ? { seconds: amount * (DURATION_UNITS[match[2]] as number) } : { events: amount }
}

function parseListen(text: string, setting: string): Config['http'] {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[2])
  if (!match || port > 65535) {
    throw new ConfigError(
      `${setting}: expected host:port such as 127.0.0.1:8090, got ${JSON.stringify(text)}`,
    )
  }
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port }
}

function parseBusPrefix(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(text)) {
    throw new ConfigError(
      `ER_BUS_PREFIX: expected 1-64 letters, digits or _ . : - (such as myapp:), got ${JSON.stringify(text)}`,
    )
  }
  return text
}

function parseReplicaUrls(env: Record<string, string | undefined>): string[] {
  const text = env.DATABASE_REPLICA_URLS
  if (text === undefined || text.trim() === '') return []
  if (!env.DATABASE_URL) {
    throw new ConfigError(
      'DATABASE_REPLICA_URLS: replicas need a PostgreSQL primary; set DATABASE_URL too (SQLite has no replicas).',
    )
  }
  const urls = text.split(',').map((u) => u.trim())
  if (urls.length > 16) throw new ConfigError('DATABASE_REPLICA_URLS: at most 16 replicas.')
  return urls.map(
    (url, index) =>
      parseUrl(url, `DATABASE_REPLICA_URLS (entry ${index + 1})`, ['postgres:', 'postgresql:']) ??
      (() => {
        throw new ConfigError(`DATABASE_REPLICA_URLS: entry ${index + 1} is empty.`)
      })(),
  )
}

function parseUrl(
  text: string | undefined,
  setting: string,
  protocols: string[],
): string | undefined {
  if (text === undefined || text === '') return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(
      `${setting}: expected a URL such as ${protocols[0]}//host:port/…, got something that is not a URL`,
    )
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(
      `${setting}: expected a ${protocols.join(' or ')} URL, got ${url.protocol}`,
    )
  }
  return text
}

function parseInteger(
  text: string | undefined,
  setting: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new ConfigError(
      `${setting}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    )
  }
  return value
}

function parseChoice<T extends string>(
  text: string | undefined,
  setting: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (text === undefined || text === '') return fallback
  const lower = [
    'ER_LOG_LEVEL',
    'ER_LOG_FORMAT',
    'ER_AUTH_COOKIE',
    'ER_PAYMENTS_PROVIDER',
  ].includes(setting)
  const value = (lower ? text.toLowerCase() : text.toUpperCase()) as T
  if (!choices.includes(value))
    throw new ConfigError(
      `${setting}: expected one of ${choices.join(', ')}, got ${JSON.stringify(text)}`,
    )
  return value
}

function parseMailFrom(text: string | undefined): string {
  if (text === undefined || text.trim() === '') return 'Engine Room <no-reply@localhost>'
  // One line with an address: a CR or LF would let the value inject mail headers.
  if (text.length > 200 || /[\r\n]/.test(text) || !/@/.test(text)) {
    throw new ConfigError(
      `ER_MAIL_FROM: expected a sender such as "Career Hub <no-reply@example.com>", got ${JSON.stringify(text)}`,
    )
  }
  return text.trim()
}

/** Where the SQLite file and the migration files live inside the data directory. */
export function dataPaths(config: Pick<Config, 'dataDir'>): {
  sqliteFile: string
  migrationsDir: string
  outboxDir: string
  storageDir: string
  uploadsDir: string
} {
  return {
    sqliteFile: resolve(config.dataDir, 'data.db'),
    migrationsDir: resolve(config.dataDir, 'migrations'),
    outboxDir: resolve(config.dataDir, 'outbox'),
    storageDir: resolve(config.dataDir, 'storage'),
    uploadsDir: resolve(config.dataDir, 'uploads'),
  }
}

/** A URL with its password replaced, for logs and messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return '(unparsable URL)'
  }
}
