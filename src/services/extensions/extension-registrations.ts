import { STATUS_CODES } from 'node:http'
import { EngineError, type FieldIssues } from '../../core/errors/index.js'
import type { JobsService } from '../jobs/jobs-service.js'
import type {
  AfterEvent,
  AuthEvent,
  AuthEventName,
  AuthHooks,
  BeforeEvents,
  ExtensionApi,
  ExtensionSetup,
  RecordAction,
  RecordHooks,
  RouteHandler,
  RouteMethod,
  RouteReply,
  RouteSchema,
} from './extension-api.js'

/**
 * An extension that cannot be loaded or set up; the message says what to fix, the cause (when
 * the extension's own code threw) has the stack pointing at its line.
 */
export class ExtensionLoadError extends Error {
  override name = 'ExtensionLoadError'
}

type BeforeHook = (event: BeforeEvents[RecordAction]) => void | Promise<void>
type AfterHook = (event: AfterEvent) => void | Promise<void>
type AuthHook = (event: AuthEvent) => void | Promise<void>

export interface ExtensionRoute {
  method: RouteMethod
  path: string
  handler: RouteHandler
  schema: RouteSchema
}

/** What one extension module registered, looked up by the engine on every write. */
export interface ExtensionRegistrations {
  /** The extension's name: keys its outbox cursor (`extension_cursor:<name>`). */
  name: string
  before(collection: string, action: RecordAction): readonly BeforeHook[]
  after(collection: string, action: RecordAction): readonly AfterHook[]
  auth(collection: string, event: AuthEventName): readonly AuthHook[]
  /** Whether any `after` or `signUp` hook exists (else no outbox consumer is needed). */
  readonly observesOutbox: boolean
  routes: readonly ExtensionRoute[]
}

const METHODS: readonly RouteMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
const ACTIONS: readonly RecordAction[] = ['create', 'update', 'delete']
const AUTH_EVENTS: readonly AuthEventName[] = ['signUp', 'signIn', 'passwordReset', 'emailVerified']
/**
 * First path segments under /api/ that the engine owns (and the DESIGN reserves for what comes
 * next): an extension route there could shadow or be shadowed by the engine's.
 */
const RESERVED = new Set([
  'collections',
  'batch',
  'realtime',
  'files',
  'openapi.json',
  'docs',
  'webhooks',
  'schedules',
  'jobs',
  'mail-templates',
  'backups',
  'privacy',
  'audit',
  'payments',
])
/** `/api/<segment>/…` with Fastify's `:param` segments; no wildcards, no regular expressions. */
const ROUTE_PATH = /^\/api(\/(?:[A-Za-z0-9._~-]+|:[A-Za-z_][A-Za-z0-9_]*))+$/

/**
 * Runs an extension's setup with a fresh `er` and returns what it registered. Mistakes in the
 * setup (an unknown action, a path the engine owns) throw with a message naming them, so that
 * `serve` refuses to start rather than run without a hook the author thinks is there.
 */
export async function collectRegistrations(
  name: string,
  setup: ExtensionSetup,
  log: (message: string, fields?: Record<string, unknown>) => void,
  jobs?: Pick<JobsService, 'define' | 'schedule' | 'enqueue'>,
): Promise<ExtensionRegistrations> {
  const before = new Map<string, BeforeHook[]>()
  const after = new Map<string, AfterHook[]>()
  const auth = new Map<string, AuthHook[]>()
  const routes: ExtensionRoute[] = []
  const add = <T>(map: Map<string, T[]>, key: string, hook: T) => {
    if (typeof hook !== 'function') throw new TypeError(`${key}: the hook must be a function.`)
    map.set(key, [...(map.get(key) ?? []), hook])
  }
  const checkAction = (what: string, action: string) => {
    if (!ACTIONS.includes(action as RecordAction))
      throw new TypeError(`${what}: the action must be create, update or delete, not "${action}".`)
  }
  let open = true
  const whileOpen = (what: string) => {
    // Registering later (from a timer, a hook) would take effect nowhere: say so at once.
    if (!open) throw new TypeError(`${what}: register hooks and routes while the setup runs.`)
  }

  const er: ExtensionApi = {
    records(collection) {
      const hooks: RecordHooks = {
        before(action, hook) {
          const what = `er.records('${collection}').before('${action}')`
          whileOpen(what)
          checkAction(what, action)
          add(before, `${collection}\n${action}`, hook as BeforeHook)
          return hooks
        },
        after(action, hook) {
          const what = `er.records('${collection}').after('${action}')`
          whileOpen(what)
          checkAction(what, action)
          add(after, `${collection}\n${action}`, hook)
          return hooks
        },
      }
      return hooks
    },
    auth(collection) {
      const hooks: AuthHooks = {
        after(event, hook) {
          const what = `er.auth('${collection}').after('${event}')`
          whileOpen(what)
          if (!AUTH_EVENTS.includes(event))
            throw new TypeError(`${what}: the event must be one of ${AUTH_EVENTS.join(', ')}.`)
          add(auth, `${collection}\n${event}`, hook)
          return hooks
        },
      }
      return hooks
    },
    route(method, path, handler, schema = {}) {
      const what = `er.route('${method}', '${path}')`
      whileOpen(what)
      routes.push(checkRoute(what, method, path, handler, schema, routes))
    },
    problem: extensionProblem,
    reply(status, body, headers) {
      if (!Number.isInteger(status) || status < 200 || status > 599)
        throw new TypeError(`er.reply: status must be an HTTP status 200-599, not ${status}.`)
      return {
        kind: 'engineroom.reply',
        status,
        ...(body !== undefined ? { body } : {}),
        ...(headers ? { headers } : {}),
      } satisfies RouteReply
    },
    log,
    job(jobName, handler, options) {
      const what = `er.job('${jobName}')`
      whileOpen(what)
      if (typeof handler !== 'function')
        throw new TypeError(`${what}: the handler must be a function.`)
      requireJobs(what).define(jobName, handler, options)
    },
    cron(schedule, pattern, handler, options) {
      const what = `er.cron('${schedule}')`
      whileOpen(what)
      if (typeof handler !== 'function')
        throw new TypeError(`${what}: the handler must be a function.`)
      requireJobs(what).schedule(schedule, pattern, handler, options)
    },
    enqueue(jobName, payload, options) {
      return requireJobs(`er.enqueue('${jobName}')`).enqueue(jobName, payload, options)
    },
  }
  function requireJobs(what: string) {
    if (!jobs) throw new TypeError(`${what}: this engine runs no jobs.`)
    return jobs
  }
  try {
    await setup(er)
  } catch (error) {
    throw new ExtensionLoadError(
      `The extension's setup failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  } finally {
    open = false
  }
  const lookup = <T>(map: Map<string, T[]>, key: string): readonly T[] => map.get(key) ?? []
  const authAfterSignUp = [...auth.keys()].some((key) => key.endsWith('\nsignUp'))
  return {
    name,
    before: (collection, action) => lookup(before, `${collection}\n${action}`),
    after: (collection, action) => lookup(after, `${collection}\n${action}`),
    auth: (collection, event) => lookup(auth, `${collection}\n${event}`),
    observesOutbox: after.size > 0 || authAfterSignUp,
    routes,
  }
}

/**
 * `er.problem(status, detail, errors?)`: an EngineError the error handlers answer as an RFC 9457
 * problem with that status and its standard title.
 */
export function extensionProblem(status: number, detail: string, errors?: FieldIssues) {
  if (!Number.isInteger(status) || status < 400 || status > 599)
    throw new TypeError(`er.problem: status must be 400-599, not ${status}.`)
  return new EngineError('ER_EXTENSION_PROBLEM', String(detail), {
    ...(errors ? { errors } : {}),
    status: { status, title: STATUS_CODES[status] ?? 'Refused by an extension' },
  })
}

function checkRoute(
  what: string,
  method: string,
  path: string,
  handler: unknown,
  schema: RouteSchema,
  known: readonly ExtensionRoute[],
): ExtensionRoute {
  if (!METHODS.includes(method as RouteMethod))
    throw new TypeError(`${what}: the method must be one of ${METHODS.join(', ')}.`)
  if (typeof path !== 'string' || !ROUTE_PATH.test(path))
    throw new TypeError(
      `${what}: the path must start with /api/ and hold only plain segments and :params.`,
    )
  const first = path.split('/')[2] ?? ''
  if (RESERVED.has(first) || first.startsWith(':'))
    throw new TypeError(`${what}: /api/${first} belongs to the engine; use another first segment.`)
  if (typeof handler !== 'function') throw new TypeError(`${what}: the handler must be a function.`)
  if (known.some((r) => r.method === method && r.path === path))
    throw new TypeError(`${what}: registered twice.`)
  return { method: method as RouteMethod, path, handler: handler as RouteHandler, schema }
}

/** Registrations whose hooks and route handlers can be replaced while the server runs. */
export interface SwappableRegistrations extends ExtensionRegistrations {
  /** Puts `next` in place; returns whether its routes (methods, paths, schemas) differ. */
  swap(next: ExtensionRegistrations): { routesChanged: boolean }
}

/**
 * What `engineroom dev` reloads: every lookup goes to the current registrations, so a write
 * after the swap runs the new hooks and a request the new route handler. Fastify fixes its
 * routes when it starts, so a route added, removed or given another schema needs a restart.
 */
export function swappableRegistrations(initial: ExtensionRegistrations): SwappableRegistrations {
  let current = initial
  const shape = (r: ExtensionRegistrations) =>
    JSON.stringify(r.routes.map((route) => [route.method, route.path, route.schema]))
  return {
    name: initial.name,
    before: (collection, action) => current.before(collection, action),
    after: (collection, action) => current.after(collection, action),
    auth: (collection, event) => current.auth(collection, event),
    get observesOutbox() {
      return current.observesOutbox
    },
    get routes() {
      return current.routes
    },
    swap(next) {
      const routesChanged = shape(next) !== shape(current)
      current = next
      return { routesChanged }
    },
  }
}
