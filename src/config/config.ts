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
  /** Realtime change feeds (`GET /api/realtime`). */
  realtime: {
    /** `ER_REALTIME_RETENTION`: how long events stay for replay: `24h`, `90m`, `7d`, or `5000` events. */
    retention: { seconds?: number; events?: number }
    /** `ER_REALTIME_HEARTBEAT`: seconds between heartbeat comments (default 15). */
    heartbeatMs: number
    /** `ER_REALTIME_MAX_TOPICS`: topics per connection (default 20). */
    maxTopics: number
    /** `ER_REALTIME_MAX_CONNECTIONS`: open streams per user and process (default 10). */
    maxConnectionsPerUser: number
    /** `ER_REALTIME_BUFFER`: bytes a slow client may leave unread before it is cut off (default 1 MiB). */
    maxBufferBytes: number
  }
  /** `--workers N` / `ER_WORKERS`: processes serving the embedded SQLite mode (default 1). */
  workers: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ConfigInput {
  http?: string | undefined
  dir?: string | undefined
  workers?: string | undefined
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
    realtime: {
      retention: parseRetention(env.ER_REALTIME_RETENTION),
      heartbeatMs:
        parseInteger(env.ER_REALTIME_HEARTBEAT, 'ER_REALTIME_HEARTBEAT', 15, 1, 3600) * 1000,
      maxTopics: parseInteger(env.ER_REALTIME_MAX_TOPICS, 'ER_REALTIME_MAX_TOPICS', 20, 1, 1000),
      maxConnectionsPerUser: parseInteger(
        env.ER_REALTIME_MAX_CONNECTIONS,
        'ER_REALTIME_MAX_CONNECTIONS',
        10,
        1,
        100_000,
      ),
      maxBufferBytes: parseInteger(
        env.ER_REALTIME_BUFFER,
        'ER_REALTIME_BUFFER',
        1024 * 1024,
        1024,
        1024 * 1024 * 1024,
      ),
    },
    workers: parseInteger(
      flags.workers ?? env.ER_WORKERS,
      flags.workers ? '--workers' : 'ER_WORKERS',
      1,
      1,
      256,
    ),
  }
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
  const value = (setting === 'ER_LOG_LEVEL' ? text.toLowerCase() : text.toUpperCase()) as T
  if (!choices.includes(value))
    throw new ConfigError(
      `${setting}: expected one of ${choices.join(', ')}, got ${JSON.stringify(text)}`,
    )
  return value
}

/** Where the SQLite file and the migration files live inside the data directory. */
export function dataPaths(config: Pick<Config, 'dataDir'>): {
  sqliteFile: string
  migrationsDir: string
} {
  return {
    sqliteFile: resolve(config.dataDir, 'data.db'),
    migrationsDir: resolve(config.dataDir, 'migrations'),
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
