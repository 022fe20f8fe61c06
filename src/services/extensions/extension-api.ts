/**
 * What an extension module sees: the `er` object its default export receives. Everything here is
 * public (exported from the package root) and follows semver.
 */
import type { EnqueueOptions, JobDefinitionOptions } from '../jobs/jobs-service.js'
import type { JobAttempt } from '../../adapters/queue/queue.js'
import type { TSchema } from '@sinclair/typebox'
import type { Row } from '../../adapters/store/store.js'
import type { EngineError, FieldIssues } from '../../core/errors/index.js'
import type { ListParams, RecordPage, ViewParams } from '../records/records-service.js'

export type RecordAction = 'create' | 'update' | 'delete'
export type AuthEventName = 'signUp' | 'signIn' | 'passwordReset' | 'emailVerified'
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * The records API as one caller: `records` acts as the request's caller (its access rules apply,
 * exactly as over REST), `sudo` as a superuser. Inside a `before` hook both join the write's
 * transaction, so what they write commits or rolls back with it.
 */
export interface RecordsClient {
  list(collection: string, params?: ListParams): Promise<RecordPage>
  view(collection: string, id: string, params?: ViewParams): Promise<Row>
  create(collection: string, body: Record<string, unknown>): Promise<Row>
  update(collection: string, id: string, body: Record<string, unknown>): Promise<Row>
  delete(collection: string, id: string): Promise<void>
}

/** Who made the request (or the write an `after` hook observes); null when anonymous. */
export interface Caller {
  /** The auth collection of the caller (`users`, `_superusers` …). */
  collection: string
  id: string
  isSuperuser: boolean
  /** Set when the caller used an API key. */
  apiKeyId?: string
}

interface HookBase {
  collection: string
  caller: Caller | null
  /** The request's id (as in logs and in `X-Request-Id`). */
  requestId: string
  records: RecordsClient
  sudo: RecordsClient
}

/** `before('create')`: `record` is the validated input, and what the hook leaves in it is stored. */
export interface BeforeCreateEvent extends HookBase {
  action: 'create'
  /** The new record's values (id included; changing the id has no effect). No password. */
  record: Record<string, unknown>
}

/** `before('update')`: `record` holds the changes (mutable), `previous` the stored record. */
export interface BeforeUpdateEvent extends HookBase {
  action: 'update'
  id: string
  record: Record<string, unknown>
  readonly previous: Readonly<Row>
}

/** `before('delete')`: the record about to be deleted (cascaded deletes run no `before` hook). */
export interface BeforeDeleteEvent extends HookBase {
  action: 'delete'
  id: string
  readonly record: Readonly<Row>
}

export interface BeforeEvents {
  create: BeforeCreateEvent
  update: BeforeUpdateEvent
  delete: BeforeDeleteEvent
}

/**
 * An `after` hook's event, read from the outbox after commit: `record` is the record as committed
 * (as it was, for delete). `eventId` grows by one per committed change: a hook that must act
 * exactly once keeps the ids it has done (delivery is at least once).
 */
export interface AfterEvent extends HookBase {
  action: RecordAction
  id: string
  eventId: number
  readonly record: Readonly<Row>
}

/** An auth event of one auth collection: the account it concerns. */
export interface AuthEvent {
  collection: string
  event: AuthEventName
  readonly record: Readonly<Row>
  sudo: RecordsClient
}

/** A custom route's request. `records` acts as the caller (rules apply), `sudo` as superuser. */
export interface RouteRequest {
  method: RouteMethod
  caller: Caller | null
  params: Record<string, string>
  query: Record<string, unknown>
  body: unknown
  headers: Record<string, string | string[] | undefined>
  requestId: string
  records: RecordsClient
  sudo: RecordsClient
}

/** A reply with a status or headers of its own; any other return value is a 200 JSON body. */
export interface RouteReply {
  readonly kind: 'engineroom.reply'
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export type RouteHandler = (request: RouteRequest) => unknown

/** TypeBox schemas of a route: validated before the handler runs, and shown in the OpenAPI. */
export interface RouteSchema {
  params?: TSchema
  query?: TSchema
  body?: TSchema
  /** The 200 body (for the document; not enforced). */
  response?: TSchema
  summary?: string
  description?: string
}

export interface RecordHooks {
  /** Runs inside the write's transaction; throw `er.problem(…)` to refuse the write. */
  before<A extends RecordAction>(
    action: A,
    hook: (event: BeforeEvents[A]) => void | Promise<void>,
  ): RecordHooks
  /** Runs after commit, from the outbox: at least once, in commit order, retried on failure. */
  after(action: RecordAction, hook: (event: AfterEvent) => void | Promise<void>): RecordHooks
}

export interface AuthHooks {
  /**
   * After the event. `signUp` comes from the outbox like record `after` hooks (a record created
   * in the collection, durable); the others run on the node that served the request, retried a
   * few times, and are lost if that node stops first.
   */
  after(event: AuthEventName, hook: (event: AuthEvent) => void | Promise<void>): AuthHooks
}

/** The `er` object an extension's default export receives. */
export interface ExtensionApi {
  records(collection: string): RecordHooks
  auth(collection: string): AuthHooks
  route(method: RouteMethod, path: string, handler: RouteHandler, options?: RouteSchema): void
  /**
   * A problem to throw from a hook or route: the write rolls back and the client gets this RFC
   * 9457 problem (`status` 400-599, default title for it, `detail` and field `errors`).
   */
  problem(status: number, detail: string, errors?: FieldIssues): EngineError
  /** A route's answer with its own status, body and headers. */
  reply(status: number, body?: unknown, headers?: Record<string, string>): RouteReply
  /** Logs a line with the engine's logger (never put secrets in it). */
  log(message: string, fields?: Record<string, unknown>): void
  /**
   * A background job's handler, run by the engine's workers with retries and backoff.
   *
   * @example
   *   er.job('welcome-mail', async (payload) => sendWelcome(payload as { email: string }))
   */
  job(
    name: string,
    handler: (payload: unknown, job: JobAttempt) => void | Promise<void>,
    options?: JobDefinitionOptions,
  ): void
  /**
   * A cron schedule: each tick runs once across all nodes; after downtime only the newest
   * missed tick runs.
   *
   * @example
   *   er.cron('nightly', '0 3 * * *', async () => cleanUp(), { tz: 'Europe/Paris' })
   */
  cron(
    name: string,
    pattern: string,
    handler: (tick: { schedule: string; tick: string }) => void | Promise<void>,
    options?: { tz?: string; attempts?: number },
  ): void
  /**
   * Queues a job from a route or hook. It is queued at once, not with a write's transaction:
   * work that must follow a committed write belongs in an `after` hook (which may enqueue).
   */
  enqueue(
    name: string,
    payload: unknown,
    options?: EnqueueOptions,
  ): Promise<{ id: string; duplicate: boolean }>
}

export type ExtensionSetup = (er: ExtensionApi) => void | Promise<void>

/**
 * Types an extension module's default export.
 *
 * @example
 *   import { defineExtension } from 'engineroom'
 *   export default defineExtension((er) => {
 *     er.records('posts').before('create', (e) => {
 *       if (e.record.title === 'forbidden') throw er.problem(422, 'That title is not allowed.')
 *       e.record.title = String(e.record.title).trim()
 *     })
 *   })
 */
export function defineExtension(setup: ExtensionSetup): ExtensionSetup {
  return setup
}
