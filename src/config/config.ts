import { resolve } from 'node:path'

/**
 * The server's settings, from flags and environment (flags win). Every value is checked at start;
 * a bad one stops the process with one line naming the setting and what it expects.
 */
export interface Config {
  /** `ER_HTTP` / `--http`: where to listen (default 127.0.0.1:8090). */
  http: { host: string; port: number }
  /** `ER_DIR` / `--dir`: data directory: SQLite file, migrations (default ./er_data). */
  dataDir: string
  /** `DATABASE_URL`: `postgres://…` selects PostgreSQL; unset means SQLite in the data directory. */
  databaseUrl: string | undefined
  /** `REDIS_URL`: `redis://…`; reserved for the distributed cache, bus and rate limits. */
  redisUrl: string | undefined
  /** `ER_BODY_LIMIT`: largest request body in bytes (default 1048576). */
  bodyLimit: number
  /** `ER_TOKEN_TTL`: access token lifetime in seconds (default 3600). */
  tokenTtlSeconds: number
  /** `ER_SQLITE_SYNC`: NORMAL (default; survives a process crash) or FULL (also power loss). */
  sqliteSynchronous: 'NORMAL' | 'FULL'
  /** `ER_LOG_LEVEL`: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `ER_PG_POOL`: PostgreSQL connections per process (default 10). */
  pgPoolSize: number
  /** `ER_SESSION_TTL`: absolute sign-in session (refresh token) lifetime in seconds (default 30 days). */
  sessionTtlSeconds: number
  /** `ER_AUTH_COOKIE`: `off` (default), or `lax`/`strict` to offer HttpOnly cookie sessions with that SameSite. */
  authCookie: 'off' | 'lax' | 'strict'
  /** `ER_TRUSTED_ORIGINS`: comma-separated origins allowed to send cookie-authenticated writes. */
  trustedOrigins: string[]
  /** `ER_SMTP_URL`: `smtp://user:pass@host:587` or `smtps://…`; unset writes mails to `<dir>/outbox/`. */
  smtpUrl: string | undefined
  /** `ER_MAIL_FROM`: sender of the auth e-mails (default `Engine Room <no-reply@localhost>`). */
  mailFrom: string
  /** `ER_APP_URL`: public URL of the app that opens e-mailed links (default `http://<ER_HTTP>`). */
  appUrl: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ConfigInput {
  http?: string | undefined
  dir?: string | undefined
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * @example
 *   loadConfig({ http: '0.0.0.0:8090' }, process.env)
 */
export function loadConfig(flags: ConfigInput, env: NodeJS.ProcessEnv): Config {
  const dataDir = resolve(flags.dir ?? env.ER_DIR ?? './er_data')
  return {
    http: parseListen(
      flags.http ?? env.ER_HTTP ?? '127.0.0.1:8090',
      flags.http ? '--http' : 'ER_HTTP',
    ),
    dataDir,
    databaseUrl: parseUrl(env.DATABASE_URL, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: parseUrl(env.REDIS_URL, 'REDIS_URL', ['redis:', 'rediss:']),
    bodyLimit: parseInteger(
      env.ER_BODY_LIMIT,
      'ER_BODY_LIMIT',
      1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
    tokenTtlSeconds: parseInteger(env.ER_TOKEN_TTL, 'ER_TOKEN_TTL', 3600, 60, 30 * 24 * 3600),
    sqliteSynchronous: parseChoice(
      env.ER_SQLITE_SYNC,
      'ER_SQLITE_SYNC',
      ['NORMAL', 'FULL'] as const,
      'NORMAL',
    ),
    logLevel: parseChoice(env.ER_LOG_LEVEL, 'ER_LOG_LEVEL', LOG_LEVELS, 'info'),
    pgPoolSize: parseInteger(env.ER_PG_POOL, 'ER_PG_POOL', 10, 1, 1000),
    sessionTtlSeconds: parseInteger(
      env.ER_SESSION_TTL,
      'ER_SESSION_TTL',
      30 * 24 * 3600,
      300,
      400 * 24 * 3600,
    ),
    authCookie: parseChoice(
      env.ER_AUTH_COOKIE?.toLowerCase(),
      'ER_AUTH_COOKIE',
      ['off', 'lax', 'strict'] as const,
      'off',
    ),
    trustedOrigins: parseOrigins(env.ER_TRUSTED_ORIGINS, 'ER_TRUSTED_ORIGINS'),
    smtpUrl: parseUrl(env.ER_SMTP_URL, 'ER_SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: parseMailFrom(env.ER_MAIL_FROM),
    appUrl: (
      parseUrl(env.ER_APP_URL, 'ER_APP_URL', ['https:', 'http:']) ??
      `http://${flags.http ?? env.ER_HTTP ?? '127.0.0.1:8090'}`
    ).replace(/\/+$/, ''),
  }
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
  const lower = setting === 'ER_LOG_LEVEL' || setting === 'ER_AUTH_COOKIE'
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

/** `https://a.example, http://localhost:5173` → exact origins (scheme://host[:port], no path). */
function parseOrigins(text: string | undefined, setting: string): string[] {
  if (text === undefined || text.trim() === '') return []
  return text.split(',').map((part) => {
    const item = part.trim()
    let url: URL | undefined
    try {
      url = new URL(item)
    } catch {
      url = undefined
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== item) {
      throw new ConfigError(
        `${setting}: expected comma-separated origins such as https://app.example.com, got ${JSON.stringify(item)}`,
      )
    }
    return item
  })
}

/** Where the SQLite file and the migration files live inside the data directory. */
export function dataPaths(config: Pick<Config, 'dataDir'>): {
  sqliteFile: string
  migrationsDir: string
  outboxDir: string
} {
  return {
    sqliteFile: resolve(config.dataDir, 'data.db'),
    migrationsDir: resolve(config.dataDir, 'migrations'),
    outboxDir: resolve(config.dataDir, 'outbox'),
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
