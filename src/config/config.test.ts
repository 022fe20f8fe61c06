import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactUrl } from './config.js'

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({}, {})
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8090 })
    expect(config.dataDir).toMatch(/er_data$/)
    expect(config.databaseUrl).toBeUndefined()
    expect(config.sqliteSynchronous).toBe('NORMAL')
  })

  it('lets flags win over the environment', () => {
    const config = loadConfig(
      { http: '0.0.0.0:9000', dir: '/tmp/x' },
      { ER_HTTP: '127.0.0.1:1', ER_DIR: '/tmp/y' },
    )
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9000 })
    expect(config.dataDir).toBe('/tmp/x')
  })

  it('reads the payments provider as `npm run demo` sets it, in any case', () => {
    expect(loadConfig({}, {}).payments).toBeUndefined()
    expect(loadConfig({}, { ER_PAYMENTS_PROVIDER: 'test' }).payments).toEqual({ provider: 'test' })
    expect(loadConfig({}, { ER_PAYMENTS_PROVIDER: 'TEST' }).payments).toEqual({ provider: 'test' })
    expect(() => loadConfig({}, { ER_PAYMENTS_PROVIDER: 'paypal' })).toThrow(
      /^ER_PAYMENTS_PROVIDER: expected one of off, test, stripe/,
    )
  })

  it('reads IPv6 listen addresses', () => {
    expect(loadConfig({ http: '[::1]:8090' }, {}).http).toEqual({ host: '::1', port: 8090 })
  })

  it.each([
    [{ ER_HTTP: 'nope' }, /^ER_HTTP: expected host:port/],
    [{ ER_HTTP: '127.0.0.1:99999' }, /^ER_HTTP: expected host:port/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: expected a postgres: or postgresql: URL/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: expected a URL/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: expected a redis: or rediss: URL/],
    [{ ER_BODY_LIMIT: '12abc' }, /^ER_BODY_LIMIT: expected a whole number from 1024/],
    [{ ER_BODY_LIMIT: '10' }, /^ER_BODY_LIMIT: expected a whole number/],
    [{ ER_SQLITE_SYNC: 'OFF' }, /^ER_SQLITE_SYNC: expected one of NORMAL, FULL/],
    [{ ER_LOG_LEVEL: 'loud' }, /^ER_LOG_LEVEL: expected one of fatal/],
    [{ ER_LOG_FORMAT: 'xml' }, /^ER_LOG_FORMAT: expected one of json, pretty/],
    [{ ER_METRICS_TOKEN: 'short' }, /^ER_METRICS_TOKEN: expected 16 to 256 printable/],
    [{ ER_METRICS_HTTP: '9100' }, /^ER_METRICS_HTTP: expected host:port/],
    [{ ER_RATE_LIMIT_READ: '100' }, /^ER_RATE_LIMIT_READ: expected <requests>\/<seconds>s/],
    [{ ER_RATE_LIMIT_AUTH: '0/60s' }, /^ER_RATE_LIMIT_AUTH: expected/],
    [{ ER_CORS_ORIGINS: '*' }, /^ER_CORS_ORIGINS: expected comma-separated origins/],
    [{ ER_CORS_ORIGINS: 'https://a.example/path' }, /^ER_CORS_ORIGINS: expected/],
    [{ ER_CORS_CREDENTIALS: 'maybe' }, /^ER_CORS_CREDENTIALS: expected true or false/],
    [{ ER_MAX_HEADER_SIZE: '10' }, /^ER_MAX_HEADER_SIZE: expected a whole number from 1024/],
    [{ ER_REQUEST_TIMEOUT: 'soon' }, /^ER_REQUEST_TIMEOUT: expected a whole number/],
    [{ ER_SHED_EVENT_LOOP_DELAY: '-1' }, /^ER_SHED_EVENT_LOOP_DELAY: expected a whole number/],
    [{ ER_SHUTDOWN_TIMEOUT: '5' }, /^ER_SHUTDOWN_TIMEOUT: expected a whole number from 100/],
    [{ ER_TRUST_PROXY: 'yes' }, /^ER_TRUST_PROXY: expected a whole number from 0 to 10/],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://x:4317' },
      /^OTEL_EXPORTER_OTLP_ENDPOINT: expected a http: or https: URL/,
    ],
    [{ ER_SESSION_TTL: '10' }, /^ER_SESSION_TTL: expected a whole number from 300/],
    [{ ER_AUTH_RECHECK_MS: '120000' }, /^ER_AUTH_RECHECK_MS: expected a whole number from 0/],
    [{ ER_AUTH_COOKIE: 'none' }, /^ER_AUTH_COOKIE: expected one of off, lax, strict/],
    [{ ER_TRUSTED_ORIGINS: 'https://a.example/path' }, /^ER_TRUSTED_ORIGINS: expected comma/],
    [{ ER_TRUSTED_ORIGINS: 'ftp://a.example' }, /^ER_TRUSTED_ORIGINS: expected comma/],
    [{ ER_SMTP_URL: 'http://mail.example' }, /^ER_SMTP_URL: expected a smtp: or smtps: URL/],
    [{ ER_MAIL_FROM: 'a@b\r\nBcc: x@y' }, /^ER_MAIL_FROM: expected a sender/],
    [{ ER_APP_URL: 'javascript:alert(1)' }, /^ER_APP_URL: expected a https: or http: URL/],
    [{ ER_REALTIME_RETENTION: '1w' }, /^ER_REALTIME_RETENTION: expected a duration/],
    [{ ER_REALTIME_RETENTION: '0' }, /^ER_REALTIME_RETENTION: expected a duration/],
    [{ ER_REALTIME_MAX_TOPICS: '0' }, /^ER_REALTIME_MAX_TOPICS: expected a whole number/],
    [
      { ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' },
      /^ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION: expected a whole number/,
    ],
    [{ ER_REALTIME_MAX_PER_ADDRESS: '0' }, /^ER_REALTIME_MAX_PER_ADDRESS: expected a whole number/],
    [{ ER_REALTIME_MAX_TOTAL: 'lots' }, /^ER_REALTIME_MAX_TOTAL: expected a whole number/],
    [{ ER_WORKERS: 'many' }, /^ER_WORKERS: expected a whole number/],
  ])('rejects %j with one line naming the setting', (env, message) => {
    expect(() => loadConfig({}, env)).toThrow(ConfigError)
    expect(() => loadConfig({}, env)).toThrow(message)
  })

  it('reads the authentication settings', () => {
    const config = loadConfig(
      {},
      {
        ER_AUTH_COOKIE: 'Strict',
        ER_TRUSTED_ORIGINS: 'https://app.example.com, http://localhost:5173',
        ER_SMTP_URL: 'smtps://u:p@mail.example:465',
        ER_MAIL_FROM: 'Career Hub <no-reply@example.com>',
        ER_APP_URL: 'https://app.example.com/',
      },
    )
    expect(config).toMatchObject({
      authCookie: 'strict',
      trustedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      smtpUrl: 'smtps://u:p@mail.example:465',
      mailFrom: 'Career Hub <no-reply@example.com>',
      appUrl: 'https://app.example.com',
      sessionTtlSeconds: 30 * 24 * 3600,
    })
    expect(loadConfig({}, {}).appUrl).toBe('http://127.0.0.1:8090')
    expect(loadConfig({}, {}).authCookie).toBe('off')
    expect(loadConfig({}, {}).authRecheckMs).toBe(1000)
    expect(loadConfig({}, { ER_AUTH_RECHECK_MS: '0' }).authRecheckMs).toBe(0)
  })

  it('never echoes an SMTP password', () => {
    expect(() => loadConfig({}, { ER_SMTP_URL: 'http://u:hunter2@mail.example' })).not.toThrow(
      /hunter2/,
    )
  })

  it('has safe operations defaults and reads budgets, origins and limits', () => {
    const { ops } = loadConfig({}, {})
    expect(ops.metricsToken).toBeUndefined()
    expect(ops.metricsHttp).toBeUndefined()
    expect(ops.rateLimit).toEqual({
      read: { max: 600, windowMs: 60_000 },
      write: { max: 120, windowMs: 60_000 },
      auth: { max: 10, windowMs: 60_000 },
    })
    expect(ops.corsOrigins).toEqual([])
    expect(ops.otlpEndpoint).toBeUndefined()
    const custom = loadConfig(
      {},
      {
        ER_RATE_LIMIT_READ: 'off',
        ER_RATE_LIMIT_AUTH: '5/300s',
        ER_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        ER_CORS_CREDENTIALS: 'true',
        ER_METRICS_HTTP: '127.0.0.1:9464',
        ER_SHUTDOWN_DRAIN: '5000',
      },
    ).ops
    expect(custom.rateLimit.read).toBeNull()
    expect(custom.rateLimit.auth).toEqual({ max: 5, windowMs: 300_000 })
    expect(custom.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173'])
    expect(custom.corsCredentials).toBe(true)
    expect(custom.metricsHttp).toEqual({ host: '127.0.0.1', port: 9464 })
    expect(custom.shutdownDrainMs).toBe(5000)
  })

  it.each([
    ['24h', { seconds: 86_400 }],
    ['90m', { seconds: 5400 }],
    ['7d', { seconds: 604_800 }],
    ['5000', { events: 5000 }],
  ])('reads ER_REALTIME_RETENTION=%s', (text, retention) => {
    expect(loadConfig({}, { ER_REALTIME_RETENTION: text }).realtime.retention).toEqual(retention)
  })

  it('reads one set of realtime connection limits (the older topics name still works)', () => {
    expect(loadConfig({}, {}).realtime).toMatchObject({
      maxSubscriptionsPerConnection: 20,
      maxConnectionsPerUser: 10,
      maxConnectionsPerAddress: 100,
      maxConnectionsTotal: 10_000,
    })
    const set = loadConfig(
      {},
      {
        ER_REALTIME_MAX_CONNECTIONS: '3',
        ER_REALTIME_MAX_PER_ADDRESS: '7',
        ER_REALTIME_MAX_TOTAL: '50',
        ER_REALTIME_MAX_TOPICS: '4',
      },
    ).realtime
    expect(set).toMatchObject({
      maxConnectionsPerUser: 3,
      maxConnectionsPerAddress: 7,
      maxConnectionsTotal: 50,
      maxSubscriptionsPerConnection: 4,
    })
    const both = { ER_REALTIME_MAX_TOPICS: '4', ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION: '9' }
    expect(loadConfig({}, both).realtime.maxSubscriptionsPerConnection).toBe(9)
  })

  it('reads the realtime ticket reconnect window within its bounds', () => {
    expect(loadConfig({}, {}).realtime.ticketReconnectSeconds).toBe(600)
    const read = (text: string) =>
      loadConfig({}, { ER_REALTIME_TICKET_RECONNECT_SECONDS: text }).realtime.ticketReconnectSeconds
    expect(read('0')).toBe(0)
    expect(read('45')).toBe(45)
    expect(read('86400')).toBe(86_400)
    for (const bad of ['86401', '-1', '1.5', '10m', 'soon']) {
      expect(() => read(bad), bad).toThrow(ConfigError)
      expect(() => read(bad), bad).toThrow(
        `ER_REALTIME_TICKET_RECONNECT_SECONDS: expected a whole number from 0 to 86400, got ${JSON.stringify(bad)}`,
      )
    }
  })

  it('reads the GraphQL limits, and closes introspection and the explorer in production', () => {
    expect(loadConfig({}, {}).graphql).toEqual({
      enabled: true,
      maxDepth: 12,
      maxCost: 50_000,
      maxAliases: 30,
      maxBatch: 10,
      introspection: true,
      explorer: true,
    })
    const production = loadConfig({}, { NODE_ENV: 'production', ER_GRAPHQL_MAX_COST: '500' })
    expect(production.graphql).toMatchObject({
      maxCost: 500,
      introspection: false,
      explorer: false,
    })
    expect(
      loadConfig({}, { NODE_ENV: 'production', ER_GRAPHQL_INTROSPECTION: 'true' }).graphql
        .introspection,
    ).toBe(true)
    expect(() => loadConfig({}, { ER_GRAPHQL_MAX_DEPTH: '0' })).toThrow(
      /^ER_GRAPHQL_MAX_DEPTH: expected a whole number from 1 to 100, got "0"$/,
    )
    expect(() => loadConfig({}, { ER_GRAPHQL: 'maybe' })).toThrow(ConfigError)
  })

  it('reads the expand limits', () => {
    expect(loadConfig({}, {}).expand).toEqual({ maxPerRelation: 1000, maxRecords: 5000 })
    const set = { ER_EXPAND_MAX_PER_RELATION: '50', ER_EXPAND_MAX_RECORDS: '200' }
    expect(loadConfig({}, set).expand).toEqual({ maxPerRelation: 50, maxRecords: 200 })
    expect(() => loadConfig({}, { ER_EXPAND_MAX_RECORDS: '0' })).toThrow(
      /^ER_EXPAND_MAX_RECORDS: expected a whole number from 1 to 1000000, got "0"$/,
    )
  })

  it('reads ER_BACKUP_TARGET=s3 with the files bucket settings as defaults', () => {
    expect(loadConfig({}, {}).backup.s3).toBeUndefined()
    const files = {
      ER_S3_BUCKET: 'files',
      ER_S3_ACCESS_KEY: 'id',
      ER_S3_SECRET_KEY: 'secret',
      ER_S3_ENDPOINT: 'http://127.0.0.1:9000',
    }
    expect(loadConfig({}, { ...files, ER_BACKUP_TARGET: 's3' }).backup.s3).toMatchObject({
      bucket: 'files',
      prefix: 'backups/',
      endpoint: 'http://127.0.0.1:9000',
      accessKeyId: 'id',
    })
    const own = { ER_BACKUP_TARGET: 's3', ER_BACKUP_S3_BUCKET: 'vault', ER_BACKUP_S3_PREFIX: '' }
    expect(loadConfig({}, { ...files, ...own }).backup.s3).toMatchObject({
      bucket: 'vault',
      prefix: '',
    })
    expect(() => loadConfig({}, { ER_BACKUP_TARGET: 'ftp' })).toThrow(
      /^ER_BACKUP_TARGET: expected local or s3/,
    )
    expect(() => loadConfig({}, { ER_BACKUP_TARGET: 's3' })).toThrow(/ER_BACKUP_S3_BUCKET/)
    expect(() =>
      loadConfig({}, { ...files, ER_BACKUP_TARGET: 's3', ER_BACKUP_S3_PREFIX: '' }),
    ).toThrow(/^ER_BACKUP_S3_PREFIX: backups need their own prefix/)
    expect(() =>
      loadConfig({}, { ...files, ER_BACKUP_TARGET: 's3', ER_BACKUP_S3_PREFIX: '../x' }),
    ).toThrow(/^ER_BACKUP_S3_PREFIX: expected segments/)
  })

  it('reads the declared consent purposes and refuses a bad key', () => {
    expect(loadConfig({}, {}).consentPurposes).toEqual([])
    expect(
      loadConfig({}, { ER_CONSENT_PURPOSES: ' newsletter, analytics,newsletter ,' })
        .consentPurposes,
    ).toEqual(['newsletter', 'analytics'])
    expect(() => loadConfig({}, { ER_CONSENT_PURPOSES: 'newsletter,Ads' })).toThrow(
      /^ER_CONSENT_PURPOSES: "Ads" is not a purpose key/,
    )
    expect(() => loadConfig({}, { ER_CONSENT_PURPOSES: 'x'.repeat(65) })).toThrow(
      /ER_CONSENT_PURPOSES/,
    )
    const many = Array.from({ length: 51 }, (_, i) => `p${i}`).join(',')
    expect(() => loadConfig({}, { ER_CONSENT_PURPOSES: many })).toThrow(/at most 50/)
  })

  it('reads the retention schedule and the audit log retention', () => {
    expect(loadConfig({}, {}).retention).toEqual({
      schedule: '0 * * * *',
      auditKeepDays: undefined,
    })
    const set = { ER_RETENTION_SCHEDULE: '30 2 * * *', ER_AUDIT_KEEP_DAYS: '400' }
    expect(loadConfig({}, set).retention).toEqual({ schedule: '30 2 * * *', auditKeepDays: 400 })
    expect(() => loadConfig({}, { ER_RETENTION_SCHEDULE: 'often' })).toThrow(
      /^ER_RETENTION_SCHEDULE: expected a cron expression/,
    )
    expect(() => loadConfig({}, { ER_AUDIT_KEEP_DAYS: '0' })).toThrow(/^ER_AUDIT_KEEP_DAYS: /)
  })

  it('lets --workers win over ER_WORKERS', () => {
    expect(loadConfig({ workers: '3' }, { ER_WORKERS: '2' }).workers).toBe(3)
    expect(loadConfig({}, {}).workers).toBe(1)
  })

  it('never echoes a database password', () => {
    expect(() => loadConfig({}, { DATABASE_URL: 'mysql://u:hunter2@h/db' })).not.toThrow(/hunter2/)
    expect(redactUrl('postgres://u:hunter2@h:5432/db')).toBe('postgres://u:***@h:5432/db')
  })

  it('reads ER_OAUTH_PROVIDERS: issuers by URL and presets', () => {
    const providers = loadConfig(
      {},
      {
        ER_OAUTH_PROVIDERS: JSON.stringify([
          { name: 'corp', issuer: 'https://idp.example', clientId: 'er', clientSecret: 's3cret' },
          { name: 'gh', preset: 'github', clientId: 'x', clientSecret: 'y', collection: 'staff' },
          { name: 'dev', issuer: 'http://127.0.0.1:9000', clientId: 'er', clientSecret: 'z' },
        ]),
      },
    ).oauthProviders
    expect(providers.map((p) => [p.name, p.collection, p.issuer ?? p.preset])).toEqual([
      ['corp', 'users', 'https://idp.example'],
      ['gh', 'staff', 'github'],
      ['dev', 'users', 'http://127.0.0.1:9000'],
    ])
    expect(loadConfig({}, {}).oauthProviders).toEqual([])
  })

  it.each([
    ['{', /^ER_OAUTH_PROVIDERS: expected a JSON array/],
    ['{}', /^ER_OAUTH_PROVIDERS: expected a JSON array/],
    ['[{"name":"Bad Name"}]', /provider 1: "name"/],
    [
      '[{"name":"a","issuer":"http://idp.example","clientId":"x","clientSecret":"hunter2"}]',
      /https/,
    ],
    ['[{"name":"a","preset":"okta","clientId":"x","clientSecret":"hunter2"}]', /"preset"/],
    ['[{"name":"a","clientId":"x","clientSecret":"hunter2"}]', /"issuer" or "preset"/],
    ['[{"name":"a","issuer":"https://i.example","clientId":"x"}]', /"clientSecret"/],
    [
      '[{"name":"a","issuer":"https://i.example","clientId":"x","clientSecret":"hunter2","scope":1}]',
      /unknown key/,
    ],
  ])('rejects ER_OAUTH_PROVIDERS=%s in one line, never echoing a secret', (text, message) => {
    const env = { ER_OAUTH_PROVIDERS: text }
    expect(() => loadConfig({}, env)).toThrow(message)
    expect(() => loadConfig({}, env)).not.toThrow(/hunter2/)
  })
})
