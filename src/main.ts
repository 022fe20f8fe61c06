/**
 * The composition root: the only module that picks concrete adapters, from configuration alone.
 * `DATABASE_URL` unset → SQLite in the data directory; `postgres://…` → PostgreSQL.
 */
import type { FastifyInstance } from 'fastify'
import { dataPaths, redactUrl, type Config } from './config/config.js'
import { createOutboxMailer } from './adapters/mailer/outbox/outbox-mailer.js'
import { createSmtpMailer } from './adapters/mailer/smtp/smtp-mailer.js'
import { openPostgresStore } from './adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from './adapters/store/sqlite/sqlite-store.js'
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

/** Opens the store and builds every service over it. */
export async function openEngine(config: Config): Promise<{ engine: Engine; description: string }> {
  const { store, description } = await openStore(config)
  try {
    const engine = await createEngine({
      store,
      migrationsDir: dataPaths(config).migrationsDir,
      tokenTtlSeconds: config.tokenTtlSeconds,
      sessionTtlSeconds: config.sessionTtlSeconds,
      appUrl: config.appUrl,
      mailer: config.smtpUrl
        ? createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom })
        : createOutboxMailer({
            dir: dataPaths(config).outboxDir,
            from: config.mailFrom,
            log: (fields, message) => console.info(JSON.stringify({ ...fields, msg: message })),
          }),
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
  const { engine, description } = await openEngine(config)
  const app = await buildServer(engine, {
    bodyLimit: config.bodyLimit,
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
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  return { app, engine, url }
}
