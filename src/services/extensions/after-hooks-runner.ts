import { randomUUID } from 'node:crypto'
import type { ChangeEvent, Store } from '../../adapters/store/store.js'
import { systemContext, type RequestContext } from '../context.js'
import { SUPERUSERS } from '../../core/schema/system-collections.js'
import { toApiRecord } from '../records/record-view.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { AfterEvent, AuthEvent } from './extension-api.js'
import type { ExtensionRegistrations } from './extension-registrations.js'
import { callerOf, createRecordsClient, sudoContext } from './records-client.js'

export interface AfterHooksOptions {
  store: Store
  registry: SchemaRegistry
  records: RecordsService
  registrations: ExtensionRegistrations
  /** Safety-net poll (default 1000 ms); commits on this node wake the runner at once. */
  pollMs?: number
  /** How long a node's claim on running the hooks lasts unless renewed (default 10 000 ms). */
  leaseMs?: number
  /** First retry delay after a failure, doubled each time up to `maxBackoffMs` (default 500). */
  backoffMs?: number
  maxBackoffMs?: number
  /** Told of every failed attempt (the log line: hook, event, attempt, stack). */
  onFailure: (failure: HookFailure) => void
}

export interface HookFailure {
  error: unknown
  hook: string
  eventId: number
  attempt: number
  retryInMs: number
}

/** Counters for metrics (`er_extension_*`), read at scrape time. */
export interface AfterHooksStats {
  /** Failed attempts since start. */
  failures: number
  /** Failed attempts in a row on the event now blocking (0 when none is). */
  failingAttempts: number
  /** Events run through since start on this node. */
  delivered: number
}

export type AfterHooksRunner = ReturnType<typeof createAfterHooksRunner>

/** The `_settings` key of an extension's outbox cursor: the id of the last event it handled. */
export const cursorKey = (name: string) => `extension_cursor:${name}`
const leaseKey = (name: string) => `extension_lease:${name}`

/**
 * Runs an extension's `after` hooks (and `signUp` auth hooks) from the transactional outbox.
 *
 * - At least once: the cursor (`extension_cursor:<name>` in `_settings`) moves past an event
 *   only after its hooks returned, so a crash between commit and hook, or during a hook, runs
 *   the hooks again on restart (on any node).
 * - In order: events are taken in id (= commit) order, one at a time; a failing event is retried
 *   with exponential backoff and nothing after it runs until it succeeds, so a record's hooks
 *   never see its changes out of order. A failing hook is visible: a log line per attempt and
 *   the `er_extension_hook_failures` metrics.
 * - One node at a time: the runner holds a lease (`extension_lease:<name>`, renewed as it goes);
 *   a node that dies stops renewing, and another takes over when the lease lapses.
 * - Not pruned away: the realtime dispatcher keeps every event after the cursor (`pruneFloor`).
 *
 * A new extension name starts at the end of the outbox: hooks see changes from then on.
 */
export function createAfterHooksRunner(options: AfterHooksOptions) {
  const { store, registry, records, registrations } = options
  const { name } = registrations
  const owner = randomUUID()
  const leaseMs = options.leaseMs ?? 10_000
  const backoffMs = options.backoffMs ?? 500
  const maxBackoffMs = options.maxBackoffMs ?? 60_000
  const stats: AfterHooksStats = { failures: 0, failingAttempts: 0, delivered: 0 }
  let timer: NodeJS.Timeout | undefined
  let retryTimer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let again = false
  let stopped = false
  let retryAt = 0

  /** Takes or renews the lease; false while another live node holds it. */
  async function holdLease(): Promise<boolean> {
    return store.transaction(async (tx) => {
      await tx.lockKey(leaseKey(name))
      const [holder, until] = ((await tx.getSetting(leaseKey(name))) ?? '').split(' ')
      if (holder && holder !== owner && Number(until) > Date.now()) return false
      await tx.setSetting(leaseKey(name), `${owner} ${Date.now() + leaseMs}`)
      return true
    })
  }

  /** Moves the cursor to `id`, only while this node still holds the lease (and renews it). */
  async function advance(id: number): Promise<boolean> {
    return store.transaction(async (tx) => {
      await tx.lockKey(leaseKey(name))
      const [holder] = ((await tx.getSetting(leaseKey(name))) ?? '').split(' ')
      if (holder !== owner) return false
      await tx.setSetting(cursorKey(name), String(id))
      await tx.setSetting(leaseKey(name), `${owner} ${Date.now() + leaseMs}`)
      return true
    })
  }

  async function cursor(): Promise<number> {
    return Number((await store.getSetting(cursorKey(name))) ?? '0')
  }

  /**
   * The caller who made the change, as they are now: `records` then acts as them. A caller
   * whose record is gone (or a change the engine made itself) is anonymous: the conservative
   * reading, which never grants a hook more than the caller could have.
   */
  async function contextFor(change: ChangeEvent): Promise<RequestContext> {
    const ctx = systemContext(`outbox-${change.id}`)
    const actor = change.actor
    const collection = actor ? registry.findById(actor.collectionId) : undefined
    if (!actor || collection?.type !== 'auth') return ctx
    const [row] = await store.selectByIds(collection, [actor.recordId])
    if (!row) return ctx
    return {
      ...ctx,
      auth: {
        collection,
        record: toApiRecord(collection, row, false),
        isSuperuser: collection.name === SUPERUSERS.name,
        ...(actor.apiKey ? { apiKey: actor.apiKey } : {}),
      },
    }
  }

  /** The hooks an event triggers, each as a named call. */
  async function callsFor(change: ChangeEvent): Promise<{ hook: string; call: () => unknown }[]> {
    const calls: { hook: string; call: () => unknown }[] = []
    const recordHooks = registrations.after(change.collection, change.action)
    const signUp =
      change.action === 'create' && registry.find(change.collection)?.type === 'auth'
        ? registrations.auth(change.collection, 'signUp')
        : []
    if (recordHooks.length === 0 && signUp.length === 0) return calls
    const ctx = await contextFor(change)
    if (recordHooks.length > 0) {
      const event: AfterEvent = {
        collection: change.collection,
        action: change.action,
        id: change.recordId,
        eventId: change.id,
        record: Object.freeze(change.record),
        caller: callerOf(ctx),
        requestId: ctx.requestId,
        records: createRecordsClient(records, ctx),
        sudo: createRecordsClient(records, sudoContext(registry, ctx)),
      }
      for (const hook of recordHooks) {
        calls.push({
          hook: `after('${change.action}') of "${change.collection}"`,
          call: () => hook(event),
        })
      }
    }
    if (signUp.length > 0) {
      const event: AuthEvent = {
        collection: change.collection,
        event: 'signUp',
        record: Object.freeze(change.record),
        sudo: createRecordsClient(records, sudoContext(registry, ctx)),
      }
      for (const hook of signUp) {
        calls.push({
          hook: `auth('${change.collection}').after('signUp')`,
          call: () => hook(event),
        })
      }
    }
    return calls
  }

  /** One pass: events after the cursor, in order, until none is left or one fails. */
  async function drain(): Promise<void> {
    if (Date.now() < retryAt) return
    const start = await cursor()
    if ((await store.outboxBounds()).last <= start) return
    if (!(await holdLease())) return
    let position = await cursor()
    for (let batches = 0; batches < 100 && !stopped; batches++) {
      const events = await store.readChanges(position, 100)
      if (events.length === 0) return
      for (const change of events) {
        const calls = await callsFor(change)
        if (calls.length === 0) continue
        // Events without hooks before this one are passed in the same move of the cursor.
        let current = ''
        try {
          for (const { hook, call } of calls) {
            current = hook
            await call()
          }
        } catch (error) {
          if (change.id - 1 > position) await advance(change.id - 1)
          failed(error, current, change.id)
          return
        }
        stats.failingAttempts = 0
        stats.delivered++
        if (!(await advance(change.id))) return
        position = change.id
      }
      const last = events.at(-1) as ChangeEvent
      if (last.id > position) {
        if (!(await advance(last.id))) return
        position = last.id
      }
    }
  }

  function failed(error: unknown, hook: string, eventId: number): void {
    stats.failures++
    stats.failingAttempts++
    const retryInMs = Math.min(maxBackoffMs, backoffMs * 2 ** (stats.failingAttempts - 1))
    retryAt = Date.now() + retryInMs
    options.onFailure({ error, hook, eventId, attempt: stats.failingAttempts, retryInMs })
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => void wake(), retryInMs)
    retryTimer.unref()
  }

  /** Asks for a pass soon; a call while one runs makes it go round once more. */
  function wake(): Promise<void> {
    if (stopped) return Promise.resolve()
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        await drain()
      } while (again && !stopped)
    })()
      .catch((error: unknown) => failed(error, 'the outbox reader', 0))
      .finally(() => {
        running = undefined
      })
    return running
  }

  return {
    wake,
    stats: (): Readonly<AfterHooksStats> => stats,
    /** The extension's cursor: the realtime dispatcher keeps every event after it. */
    cursor,
    /** Creates the cursor at the end of the outbox (a new extension sees changes from now on). */
    async start(): Promise<void> {
      await store.initSetting(cursorKey(name), String((await store.outboxBounds()).last))
      timer = setInterval(() => void wake(), options.pollMs ?? 1000)
      timer.unref()
      void wake()
    },
    /** Stops polling and waits (at most `graceMs`) for a hook that is running. */
    async stop(graceMs = 5000): Promise<void> {
      stopped = true
      clearInterval(timer)
      clearTimeout(retryTimer)
      if (!running) return
      let wait: NodeJS.Timeout | undefined
      await Promise.race([running, new Promise((done) => (wait = setTimeout(done, graceMs)))])
      clearTimeout(wait)
    },
  }
}
