import type { PaymentProvider } from '../adapters/payments/payments.js'
import { createPaymentsService, type PaymentsService } from './payments/payments-service.js'
import { randomBytes } from 'node:crypto'
import { systemClock, type Clock } from '../core/clock.js'
import type { Mailer } from '../adapters/mailer/mailer.js'
import type { Bus } from '../adapters/bus/bus.js'
import {
  createSettingsService,
  type SettingsEnvironment,
  type SettingsService,
} from './settings/settings-service.js'
import { createSettingsMailer, type SmtpMailerFactory } from './settings/settings-applied.js'
import { sendTestMail } from './settings/settings-test-mail.js'
import type { RequestContext } from './context.js'
import type { Store } from '../adapters/store/store.js'
import type { BlobStore } from '../adapters/blobs/blobs.js'
import {
  createFilesService,
  DEFAULT_FILE_LIMITS,
  type FileLimits,
  type FilesService,
} from './files/files-service.js'
import { createAuthService, type AuthService } from './auth/auth-service.js'
import { defaultThrottlePolicy, type ThrottlePolicy } from './auth/auth-throttle.js'
import { startAuthHousekeeping, type AuthHousekeeping } from './auth/auth-housekeeping.js'
import { createArgon2Hasher, type PasswordHasher } from './auth/password-hasher.js'
import { loadTokenSigner, type TokenSigner } from './auth/token-signer.js'
import { withVerifyCache } from './auth/token-cache.js'
import type { ExpandLimits } from './records/expand-limits.js'
import type { RecordsDeps } from './records/records-deps.js'
import { createRecordsService, type RecordsService } from './records/records-service.js'
import { traced as tracedService } from './traced.js'
import {
  createChangeDispatcher,
  type ChangeDispatcher,
  type Retention,
} from './realtime/change-dispatcher.js'
import { RealtimeHub } from './realtime/realtime-hub.js'
import { RealtimeConnections } from './realtime/realtime-connections.js'
import {
  createRealtimeService,
  type RealtimeLimits,
  type RealtimeService,
} from './realtime/realtime-service.js'
import type { Queue } from '../adapters/queue/queue.js'
import { createStoreQueue } from '../adapters/queue/store/store-queue.js'
import { createJobsService, type JobsService } from './jobs/jobs-service.js'
import { scheduleRetention, type RetentionSettings } from './privacy/retention-schedule.js'
import { createMailQueue, type MailQueueOptions } from './mail/mail-queue.js'
import { createMailTemplates, type MailTemplatesService } from './mail/mail-templates.js'
import {
  createWebhookDelivery,
  DEFAULT_WEBHOOK_DELIVERY,
  type WebhookDeliverySettings,
} from './webhooks/webhook-delivery.js'
import { createWebhooksService, type WebhooksService } from './webhooks/webhooks-service.js'
import { withAuthWebhooks } from './webhooks/auth-webhooks.js'
import { SchemaRegistry } from './schema/schema-registry.js'
import type { ExtensionSetup } from './extensions/extension-api.js'
import {
  collectRegistrations,
  swappableRegistrations,
  type ExtensionRegistrations,
} from './extensions/extension-registrations.js'
import { createBeforeHooks } from './extensions/before-hooks.js'
import {
  createAfterHooksRunner,
  type AfterHooksOptions,
  type AfterHooksRunner,
} from './extensions/after-hooks-runner.js'
import { withAuthHooks } from './extensions/auth-hooks.js'
import { sudoContext } from './extensions/records-client.js'
import { createSchemaService, type SchemaService } from './schema/schema-service.js'
import { fillHistoryFromFiles } from './schema/schema-history.js'

export interface EngineOptions {
  store: Store
  /** Where schema changes are written as migration files. */
  migrationsDir: string
  clock?: Clock
  passwords?: PasswordHasher
  /** Lifetime of access tokens (default one hour). */
  tokenTtlSeconds?: number
  /** Absolute lifetime of a sign-in session and its refresh tokens (default 30 days). */
  sessionTtlSeconds?: number
  /** How long a node remembers a verified token signature (default 60000 ms; never past expiry). */
  tokenCacheMs?: number
  /**
   * How long a node trusts a checked caller (live session, unchanged record) before reading it
   * again (default 1000 ms; 0 = every request). Changes made through this engine act at once.
   */
  callerRecheckMs?: number
  /** Login throttle limits (defaults in auth-throttle.ts). */
  throttle?: ThrottlePolicy
  /**
   * How often expired sessions, one-time tokens and quiet throttle counters are deleted
   * (default 10 minutes; 0 = never on a timer).
   */
  housekeepingMs?: number
  /** Sends the auth e-mails (main.ts picks SMTP or the file outbox). */
  mailer?: Mailer
  /**
   * Settings changed at run time (`/api/admin/settings`): what the environment fixes, how to
   * make an SMTP mailer from saved settings (without it, saved SMTP settings send nothing), the
   * default sender, and how often to look for another node's change (default 5 s; 0: never).
   */
  settings?: {
    environment?: SettingsEnvironment
    smtpMailer?: SmtpMailerFactory
    defaultFrom?: string
    recheckMs?: number
  }
  /**
   * Auth mails through the job queue (`mail:send`), retried with backoff when SMTP fails.
   * Off by default for an embedding program that never calls `jobs.startWorkers`; `serve`
   * turns it on. `true`, or the retry settings.
   */
  mailQueue?: boolean | MailQueueOptions
  /** Public URL of the app that opens e-mailed links (default http://127.0.0.1:8090). */
  appUrl?: string
  /** Where background failures (a mail that could not be sent) are reported. */
  logError?: (error: unknown, message: string) => void
  /** How often a node checks whether another node changed the schema (default 1000 ms). */
  schemaRecheckMs?: number
  /**
   * Each service call a span (`records.create`). Off by default: even with no tracer provider
   * the wrapper costs a span object and a context switch per call.
   */
  tracing?: boolean
  /** The bus that carries change events between processes; without one, no realtime. */
  bus?: Bus
  realtime?: Partial<RealtimeSettings>
  /**
   * Where failures of background work are reported, with the component that failed:
   * `realtime-dispatcher`, `realtime-hub`, `files`, `auth-housekeeping`.
   */
  onBackgroundError?: (error: unknown, component: BackgroundComponent) => void
  /** Bounds on `expand` (`ER_EXPAND_MAX_*`; default DEFAULT_EXPAND_LIMITS). */
  expandLimits?: ExpandLimits
  /** File storage; without it, file fields accept no uploads. */
  files?: FilesSettings
  /** Payments through this provider (`ER_PAYMENTS_PROVIDER`); without it, no payment routes. */
  payments?: { provider: PaymentProvider }
  /**
   * An extension (`defineExtension`): its hooks run on every write, its routes are served by
   * `buildServer`. `name` keys its outbox cursor; `loadExtension` makes both from a file.
   */
  extension?: { name: string; setup: ExtensionSetup }
  /** Timing of the extension's after hooks (defaults in after-hooks-runner.ts). */
  extensionHooks?: Pick<AfterHooksOptions, 'pollMs' | 'leaseMs' | 'backoffMs' | 'maxBackoffMs'>
  /** The job queue (main.ts picks BullMQ when `REDIS_URL` is set); default: the store's table. */
  queue?: Queue
  /** The store queue's settings when no `queue` is given. */
  jobs?: { pollMs?: number; leaseMs?: number; scheduleCheckMs?: number }
  /**
   * Scheduled retention (`ER_RETENTION_SCHEDULE`, `ER_AUDIT_KEEP_DAYS`): every collection's
   * `retention` and the audit log's, once per tick across nodes, run by a job worker. Off when
   * absent (`serve` turns it on).
   */
  retention?: RetentionSettings
  /**
   * The purposes people may consent to (`ER_CONSENT_PURPOSES`), e.g. `['newsletter']`; default
   * none (every consent refused).
   */
  consentPurposes?: readonly string[]
  /** Webhook delivery: allowed private hosts (`ER_WEBHOOK_ALLOW_HOSTS`), retries, disabling. */
  webhooks?: Partial<WebhookDeliverySettings>
}

/** File fields' storage and limits (`ER_S3_*`, `ER_FILES_*`). */
export interface FilesSettings {
  blobs: BlobStore
  /** Where resumable (tus) uploads are staged: `<dir>/uploads`. */
  uploadsDir: string
  limits?: Partial<FileLimits>
  /** How often removed files are retried and orphans looked for (default 60000 ms; 0: never). */
  housekeepingMs?: number
}

/** Realtime settings; `ER_REALTIME_*` in the configuration. */
export interface RealtimeSettings extends RealtimeLimits {
  retention: Retention
  heartbeatMs: number
  reauthMs: number
  dispatchPollMs: number
}

export const DEFAULT_REALTIME: RealtimeSettings = {
  retention: { seconds: 24 * 3600 },
  heartbeatMs: 15_000,
  reauthMs: 30_000,
  dispatchPollMs: 1000,
  maxSubscriptionsPerConnection: 20,
  maxConnectionsPerUser: 10,
  maxConnectionsPerAddress: 100,
  maxConnectionsTotal: 10_000,
  maxBufferBytes: 1024 * 1024,
  ticketTtlSeconds: 30,
  ticketReconnectSeconds: 600,
}

/** Every service, wired to one store. Transports (HTTP, CLI) take what they need from it. */
export interface Engine {
  store: Store
  registry: SchemaRegistry
  /** The engine's time; every stored instant comes from it. */
  clock: Clock
  /** The purposes people may consent to (see `EngineOptions.consentPurposes`). */
  consentPurposes: readonly string[]
  schema: SchemaService
  records: RecordsService
  auth: AuthService
  tokens: TokenSigner
  /** What the record services are built from, for bulk work such as imports. */
  recordsDeps: RecordsDeps
  /** Present when the engine was given a bus. */
  realtime?: {
    service: RealtimeService
    hub: RealtimeHub
    dispatcher: ChangeDispatcher
    /** Open SSE streams and GraphQL WebSockets, counted against one set of limits. */
    connections: RealtimeConnections
  }
  /** Deletes expired auth rows on a timer; `run()` sweeps at once. */
  housekeeping: AuthHousekeeping
  /** Present when the engine was given file storage. */
  files?: FilesService
  /** Present when the engine was given a payment provider. */
  payments?: PaymentsService
  /** The blob store of the files (backups read and write it through here). */
  blobs?: BlobStore
  /** Present when the engine was given an extension: its routes, and its after-hook runner. */
  extension?: {
    registrations: ExtensionRegistrations
    afterHooks?: AfterHooksRunner
    /**
     * Replaces the hooks and route handlers with those of `setup` (`engineroom dev`); a setup
     * that throws changes nothing. `routesChanged`: routes were added, removed or given new
     * schemas, which takes a restart.
     */
    reload(setup: ExtensionSetup): Promise<{ routesChanged: boolean }>
  }
  /**
   * Background jobs and cron schedules: `define`, `enqueue` (with `tx` inside a write),
   * `schedule`. Nothing runs until `startWorkers(n)` (serve and `engineroom worker` call it).
   */
  jobs: JobsService
  /** Mail templates (`/api/mail-templates`) and `send(name, to, values)` for extensions. */
  mail: MailTemplatesService
  /** Webhook subscriptions, their delivery log and replay (`/api/webhooks`). */
  webhooks: WebhooksService
  /** Settings changed at run time, and the test mail through the mailer they choose. */
  settings: SettingsService & {
    sendTestMail(ctx: RequestContext, body: unknown): ReturnType<typeof sendTestMail>
  }
  close(): Promise<void>
}

/**
 * A context acting as a superuser, for a program that embeds the engine and calls its services
 * directly (seeding, scripts). Requests through `buildServer` get their own context per caller.
 *
 * @example
 *   await engine.records.create(superuserContext(engine), 'posts', { title: 'Hello' })
 */
export function superuserContext(engine: Pick<Engine, 'registry'>, requestId = 'embedded') {
  return sudoContext(engine.registry, { auth: null, requestId, query: {} })
}

/**
 * Builds the services over an open store: loads the schema, the signing keys and the server
 * secret (created on first start, shared through the store by every node).
 *
 * @example
 *   const engine = await createEngine({ store: await openSqliteStore({ file: 'er_data/data.db' }), migrationsDir: 'er_data/migrations' })
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { store } = options
  const clock = options.clock ?? systemClock
  const passwords = options.passwords ?? createArgon2Hasher()
  const registry = new SchemaRegistry(store, { recheckMs: options.schemaRecheckMs ?? 1000 })
  await registry.reload()
  // Changes recorded before the database kept their content get it from this node's files.
  await fillHistoryFromFiles(store, options.migrationsDir)
  // Schema changes announced by other nodes reload this one at once (realtime or not).
  if (options.bus) await registry.watch(options.bus, backgroundReporter(options, 'schema'))
  const settings = await createSettingsService({
    store,
    clock,
    ...(options.settings?.environment ? { environment: options.settings.environment } : {}),
    ...(options.settings?.recheckMs !== undefined ? { recheckMs: options.settings.recheckMs } : {}),
  })
  if (options.bus) await settings.watch(options.bus, backgroundReporter(options, 'schema'))
  // Saved SMTP settings take over from the mailer the engine started with, without a restart.
  const mailer =
    options.mailer || options.settings?.smtpMailer
      ? createSettingsMailer({
          base: options.mailer,
          settings,
          smtpMailer: options.settings?.smtpMailer,
          defaultFrom: options.settings?.defaultFrom ?? 'Engine Room <no-reply@localhost>',
        })
      : undefined
  const secret = await store.initSetting('server_secret', randomBytes(32).toString('base64url'))
  const tokens = withVerifyCache(
    await loadTokenSigner(store, { ttlSeconds: options.tokenTtlSeconds ?? 3600 }),
    { ttlMs: options.tokenCacheMs ?? 60_000, maxEntries: 10_000 },
  )
  // Key changes announced by another process (`engineroom keys`) reload this node at once.
  if (options.bus) await tokens.watch(options.bus, backgroundReporter(options, 'signing-keys'))
  const logError = options.logError ?? ((error, message) => console.error(message, error))
  const extensionLog = (msg: string, fields?: Record<string, unknown>) =>
    console.info(
      JSON.stringify({ level: 'info', extension: options.extension?.name, msg, ...fields }),
    )
  // Before the extension: its `er.job` and `er.cron` define handlers and schedules on it.
  const jobs = createJobsService({
    queue: options.queue ?? createStoreQueue({ store, clock, ...options.jobs }),
    store,
    clock,
    scheduleCheckMs: options.jobs?.scheduleCheckMs,
    onError: logError,
  })
  const registrations = options.extension
    ? swappableRegistrations(
        await collectRegistrations(
          options.extension.name,
          options.extension.setup,
          extensionLog,
          jobs,
        ),
      )
    : undefined
  // The dispatcher and the after hooks need the records service, which wakes them (and the
  // before hooks call it): tied after all exist.
  const late: {
    dispatcher?: ChangeDispatcher
    afterHooks?: AfterHooksRunner
    records?: RecordsService
    webhooks?: { nudge(): void; readonly active: boolean }
  } = {}
  const recordsDeps: RecordsDeps = {
    store,
    registry,
    clock,
    passwords,
    secret,
    ...(options.throttle ? { throttle: options.throttle } : {}),
    // Wakes only what has work: with no after hook and no enabled webhook a commit costs
    // nothing here (their polls still move their cursors along the outbox).
    onCommit: () => {
      void late.dispatcher?.wake()
      if (registrations?.observesOutbox) void late.afterHooks?.wake()
      if (late.webhooks?.active) late.webhooks.nudge()
    },
    ...(options.expandLimits ? { expandLimits: options.expandLimits } : {}),
    ...(registrations
      ? { hooks: createBeforeHooks(registrations, registry, () => late.records as RecordsService) }
      : {}),
  }
  const files = options.files
    ? createFilesService({
        store,
        registry,
        clock,
        blobs: options.files.blobs,
        secret,
        uploadsDir: options.files.uploadsDir,
        limits: { ...DEFAULT_FILE_LIMITS, ...options.files.limits },
        housekeepingMs: options.files.housekeepingMs,
        onError: backgroundReporter(options, 'files'),
      })
    : undefined
  if (files) {
    recordsDeps.files = files.writes
    files.start()
  }
  // Each service call is a span when tracing is on.
  const traced = options.tracing ? tracedService : <T>(_name: string, service: T): T => service
  const records = traced('records', createRecordsService(recordsDeps))
  late.records = records
  const mail = createMailTemplates({ store, mailer })
  const mailQueue = options.mailQueue
    ? createMailQueue(
        { jobs, templates: mail, secret },
        options.mailQueue === true ? {} : options.mailQueue,
      )
    : undefined
  // Before the auth service: sign-ins, resets and verifications queue webhook messages.
  const webhookSettings = { ...DEFAULT_WEBHOOK_DELIVERY, ...options.webhooks }
  const webhookDelivery = createWebhookDelivery({
    store,
    clock,
    jobs,
    records,
    registry,
    serverSecret: secret,
    settings: webhookSettings,
    onNotice: (message) => logError(undefined, `webhooks: ${message}`),
    onError: backgroundReporter(options, 'webhooks'),
  })
  const plainAuth = traced(
    'auth',
    createAuthService({
      store,
      registry,
      passwords,
      tokens,
      clock,
      sessionTtlSeconds: options.sessionTtlSeconds ?? 30 * 24 * 3600,
      ...(options.callerRecheckMs !== undefined
        ? { callerRecheckMs: options.callerRecheckMs }
        : {}),
      ...(options.throttle ? { throttle: options.throttle } : {}),
      mailer,
      sendMail: mailQueue ? mailQueue.send : mail.send,
      secret,
      appUrl: (options.appUrl ?? 'http://127.0.0.1:8090').replace(/\/+$/, ''),
      logError,
    }),
  )
  const hookedAuth = registrations
    ? withAuthHooks(plainAuth, {
        store,
        registry,
        records,
        registrations,
        onFailure: (error, hook, attempt, willRetry) =>
          logError(
            error,
            `extension hook ${hook} failed (attempt ${attempt}${willRetry ? ', will retry' : ', given up'})`,
          ),
      })
    : plainAuth
  const auth = withAuthWebhooks(hookedAuth, { delivery: webhookDelivery, onError: logError })
  // Always with an extension: one reloaded by `engineroom dev` may add after hooks.
  const afterHooks = registrations
    ? createAfterHooksRunner({
        store,
        registry,
        records,
        registrations,
        ...options.extensionHooks,
        onFailure: ({ error, hook, eventId, attempt, retryInMs }) =>
          logError(
            error,
            `extension hook ${hook} failed on outbox event ${eventId} (attempt ${attempt}; retry in ${retryInMs} ms)`,
          ),
      })
    : undefined
  if (afterHooks) {
    await afterHooks.start()
    late.afterHooks = afterHooks
  }
  const realtime = options.bus
    ? await startRealtime(
        { ...options, bus: options.bus },
        records,
        auth,
        registry,
        clock,
        afterHooks ? () => afterHooks.cursor() : undefined,
      )
    : undefined
  if (realtime) late.dispatcher = realtime.dispatcher
  webhookDelivery.start()
  late.webhooks = webhookDelivery
  const webhooks = createWebhooksService({
    store,
    clock,
    records,
    registry,
    serverSecret: secret,
    policy: webhookSettings.policy,
    delivery: webhookDelivery,
  })
  if (options.retention) {
    scheduleRetention(jobs, { registry, records, clock }, store, options.retention, (run) => {
      const did = Object.keys({ ...run.records.deleted, ...run.records.anonymized }).length
      if (did > 0 || run.auditPruned > 0)
        console.info(JSON.stringify({ level: 'info', msg: 'retention applied', ...run }))
    })
  }
  const housekeeping = startAuthHousekeeping({
    store,
    clock,
    ...(options.housekeepingMs !== undefined ? { intervalMs: options.housekeepingMs } : {}),
    forgetThrottleMs: (options.throttle ?? defaultThrottlePolicy).forgetAfterSeconds * 1000,
    onError: backgroundReporter(options, 'auth-housekeeping'),
  })
  const appUrl = (options.appUrl ?? 'http://127.0.0.1:8090').replace(/\/+$/, '')
  const payments = options.payments
    ? createPaymentsService({
        store,
        records,
        registry,
        clock,
        provider: options.payments.provider,
        publicUrl: () => appUrl,
        logError: options.logError ?? ((error, message) => console.error(message, error)),
      })
    : undefined
  return {
    store,
    registry,
    clock,
    consentPurposes: options.consentPurposes ?? [],
    tokens,
    recordsDeps,
    schema: traced(
      'schema',
      createSchemaService({
        store,
        registry,
        clock,
        migrationsDir: options.migrationsDir,
        onBackgroundError: backgroundReporter(options, 'schema'),
      }),
    ),
    records,
    auth,
    ...(realtime ? { realtime } : {}),
    housekeeping,
    jobs,
    mail,
    webhooks,
    settings: {
      ...settings,
      sendTestMail: (ctx, body) =>
        sendTestMail(ctx, { requireSettingsAdmin: settings.requireSettingsAdmin, mailer }, body),
    },
    ...(files && options.files ? { files, blobs: options.files.blobs } : {}),
    ...(payments ? { payments } : {}),
    ...(registrations
      ? {
          extension: {
            registrations,
            ...(afterHooks ? { afterHooks } : {}),
            async reload(setup: ExtensionSetup) {
              const next = await collectRegistrations(registrations.name, setup, extensionLog, jobs)
              return registrations.swap(next)
            },
          },
        }
      : {}),
    async close() {
      await registry.unwatch()
      await tokens.unwatch()
      await afterHooks?.stop()
      await webhookDelivery.stop()
      await jobs.stop()
      await jobs.queue.close()
      await housekeeping.stop()
      await files?.stop()
      await options.files?.blobs.close()
      await realtime?.dispatcher.stop()
      await realtime?.hub.stop()
      await settings.close()
      await mailer?.close()
      await store.close()
    },
  }
}

/** The parts of the engine that work in the background and report their own failures. */
export type BackgroundComponent =
  | 'realtime-dispatcher'
  | 'realtime-hub'
  | 'files'
  | 'auth-housekeeping'
  | 'schema'
  | 'signing-keys'
  | 'webhooks'

function backgroundReporter(
  options: EngineOptions,
  component: BackgroundComponent,
): (error: unknown) => void {
  const report = options.onBackgroundError
  return report ? (error) => report(error, component) : () => {}
}

async function startRealtime(
  options: EngineOptions & { bus: Bus },
  records: RecordsService,
  auth: AuthService,
  registry: SchemaRegistry,
  clock: Clock,
  pruneFloor?: () => Promise<number>,
): Promise<NonNullable<Engine['realtime']>> {
  const { store, bus } = options
  const settings = { ...DEFAULT_REALTIME, ...options.realtime }
  const hub = new RealtimeHub({
    store,
    bus,
    records,
    auth,
    registry,
    heartbeatMs: settings.heartbeatMs,
    reauthMs: settings.reauthMs,
    onError: backgroundReporter(options, 'realtime-hub'),
  })
  await hub.start()
  const dispatcher = createChangeDispatcher({
    store,
    bus,
    clock,
    retention: settings.retention,
    pollMs: settings.dispatchPollMs,
    ...(pruneFloor ? { pruneFloor } : {}),
    onError: backgroundReporter(options, 'realtime-dispatcher'),
  })
  dispatcher.start()
  const connections = new RealtimeConnections(settings)
  const service = createRealtimeService({
    store,
    records,
    auth,
    registry,
    hub,
    connections,
    clock,
    limits: settings,
  })
  return { service, hub, dispatcher, connections }
}
