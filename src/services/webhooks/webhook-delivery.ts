import type {
  ChangeEvent,
  Row,
  Store,
  StoreSession,
  WebhookRow,
} from '../../adapters/store/store.js'
import type { JobAttempt } from '../../adapters/queue/queue.js'
import type { Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import type { CollectionDef } from '../../core/schema/types.js'
import { cliContext } from '../context.js'
import type { JobsService } from '../jobs/jobs-service.js'
import { changeSnapshot } from '../records/record-view.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { postOutgoing, RefusedAddressError, type OutgoingPolicy } from './outgoing-request.js'
import { createSecretBox, signWebhook } from './webhook-signing.js'

/**
 * Auth events a webhook on an auth collection may list in `actions`, besides create, update and
 * delete. `signUp` is the create of an account (from the outbox, so in the write's
 * transaction); the others come from the auth service when they succeed. The message body is
 * `{ collection, action: <event>, record }`, the record without its password hash or token key;
 * no token, link or password ever is in it.
 */
export const AUTH_WEBHOOK_EVENTS = ['signUp', 'signIn', 'passwordReset', 'emailVerified'] as const
export type AuthWebhookEvent = (typeof AUTH_WEBHOOK_EVENTS)[number]

/** How an attempt ended: a 2xx, anything else (retried), or an address the policy refuses. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'refused'

/** The job that delivers one message to one webhook. */
export const DELIVER_JOB = 'webhooks.deliver'
/** The `_settings` key of the last outbox event turned into deliveries. */
export const WEBHOOKS_CURSOR_KEY = 'webhooks_cursor'

export interface DeliveryPayload {
  webhookId: string
  /** The `webhook-id` header: the same for every attempt and replay. */
  messageId: string
  body: string
}

export interface WebhookDeliverySettings {
  policy: OutgoingPolicy
  /** Attempts per message (default 21: with the backoff below, about 24 hours of retries). */
  attempts: number
  backoffMs: number
  maxBackoffMs: number
  /** Messages given up on in a row after which the webhook is disabled (default 3). */
  disableAfter: number
  /** How often the outbox is looked at without a wake (default 1000 ms). */
  pollMs: number
  /**
   * How long a commit's wake waits for more commits (default 20 ms): a burst of writes is fed in
   * one round and one transaction instead of one each, which halves a busy SQLite's writes.
   */
  batchMs: number
}

export const DEFAULT_WEBHOOK_DELIVERY: WebhookDeliverySettings = {
  policy: { allowHosts: [] },
  attempts: 21,
  backoffMs: 10_000,
  maxBackoffMs: 2 * 3600_000,
  disableAfter: 3,
  pollMs: 1000,
  batchMs: 20,
}

export interface WebhookDeliveryDeps {
  store: Store
  clock: Clock
  jobs: JobsService
  records: RecordsService
  registry: SchemaRegistry
  serverSecret: string
  settings: WebhookDeliverySettings
  onNotice(message: string): void
  onError(error: unknown): void
}

const excerpt = (text: string, max = 4096) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * Turns committed change events into deliveries and delivers them.
 *
 * The feeder reads the outbox after its own cursor (like the realtime dispatcher, so a crash
 * loses nothing: the cursor moves only in the transaction that queues the deliveries), judges
 * each enabled webhook's collection, actions and filter, and queues one job per match with the
 * idempotency key `webhook:<webhook>:<event>`: two nodes feeding at once still queue one.
 * The delivery job signs and POSTs the message, logs the attempt, and fails (to be retried with
 * backoff) on anything but a 2xx; a message given up on counts against the webhook, which is
 * disabled after `disableAfter` in a row.
 */
export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>

export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const { store, clock, jobs, settings } = deps
  const box = createSecretBox(deps.serverSecret)
  const superuser = () => cliContext(deps.registry.get('_superusers'))
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  type OutcomeListener = (outcome: DeliveryOutcome, durationMs: number) => void
  const outcomeListeners = new Set<OutcomeListener>()
  /** Whether enabled webhooks existed at the last look (a commit wakes the feeder only then). */
  let active = false

  async function matches(hooks: WebhookRow[], events: ChangeEvent[]): Promise<DeliveryPayload[]> {
    const out: DeliveryPayload[] = []
    for (const hook of hooks) {
      // Each (event, action) pair this hook hears: its record action, and `signUp` for a
      // record created in an auth collection (a sign-up is that create, from the outbox).
      const isAuth = deps.registry.find(hook.collection)?.type === 'auth'
      const candidates: { event: ChangeEvent; action: string }[] = []
      for (const e of events) {
        if (e.collection !== hook.collection || e.created < hook.created) continue
        if (hook.actions.includes(e.action)) candidates.push({ event: e, action: e.action })
        if (isAuth && e.action === 'create' && hook.actions.includes('signUp')) {
          candidates.push({ event: e, action: 'signUp' })
        }
      }
      if (candidates.length === 0) continue
      const hits = await passFilter(
        hook,
        candidates.map((c) => c.event.record),
      )
      candidates.forEach(({ event, action }, i) => {
        if (!hits.has(i)) return
        // A record action keeps the id it always had; a sign-up is a second message.
        const tag = action === 'signUp' ? `${event.id}s` : `${event.id}`
        out.push(
          message(hook, `msg_${tag}_${hook.id}`, {
            collection: event.collection,
            action,
            record: event.record,
          }),
        )
      })
    }
    return out
  }

  /** Which of `snapshots` pass the hook's filter (all, without one). */
  async function passFilter(hook: WebhookRow, snapshots: Row[]): Promise<Set<number>> {
    if (!hook.filter || !deps.registry.find(hook.collection)) {
      return new Set(snapshots.map((_, i) => i))
    }
    try {
      return await deps.records.visibleSnapshots(
        superuser(),
        hook.collection,
        snapshots,
        hook.filter,
      )
    } catch (error) {
      // The schema changed under the filter: nothing matches until it is fixed.
      deps.onNotice(`webhook ${hook.id}: its filter no longer applies (${String(error)})`)
      return new Set()
    }
  }

  const message = (hook: WebhookRow, messageId: string, body: object): DeliveryPayload => ({
    webhookId: hook.id,
    messageId,
    body: JSON.stringify(body),
  })

  const enqueueAll = (deliveries: DeliveryPayload[], tx?: StoreSession) =>
    Promise.all(
      deliveries.map((delivery) =>
        jobs.enqueue(DELIVER_JOB, delivery, {
          ...(tx ? { tx } : {}),
          idempotencyKey: `webhook:${delivery.webhookId}:${delivery.messageId}`,
        }),
      ),
    )

  /**
   * Queues the deliveries of an auth event that is not a record write (`signIn`,
   * `passwordReset`, `emailVerified`): one job per enabled webhook on the collection that lists
   * the event and whose filter the account passes. The record is the outbox's form of it
   * (password hash and token key removed). Awaited before the request answers, so an answered
   * sign-in has its messages queued; a crash between the auth change's commit and this enqueue
   * loses them (as it would the in-process auth hooks). Costs one indexed read of `_webhooks`
   * when the collection has no webhook.
   */
  async function authEvent(
    collection: CollectionDef,
    event: AuthWebhookEvent,
    recordId: string,
  ): Promise<void> {
    const hooks = (
      await store.webhooks.listWebhooks({
        collection: collection.name,
        enabledOnly: true,
        limit: 1000,
      })
    ).filter((h) => h.actions.includes(event))
    if (hooks.length === 0) return
    const [row] = await store.selectByIds(collection, [recordId])
    if (!row) return
    const record = changeSnapshot(collection, row)
    const eventId = newId()
    const deliveries: DeliveryPayload[] = []
    for (const hook of hooks) {
      if (!(await passFilter(hook, [record])).has(0)) continue
      deliveries.push(
        message(hook, `msg_${eventId}_${hook.id}`, {
          collection: collection.name,
          action: event,
          record,
        }),
      )
    }
    if (deliveries.length > 0) await enqueueAll(deliveries)
  }

  /** One round: events after the cursor into delivery jobs; returns how many events it read. */
  async function round(): Promise<number> {
    const stored = await store.getSetting(WEBHOOKS_CURSOR_KEY)
    if (stored === undefined) {
      // First start: history is not delivered; the feed begins now.
      await store.setSetting(WEBHOOKS_CURSOR_KEY, String((await store.outboxBounds()).last))
      return 0
    }
    const cursor = Number(stored)
    // The end of the outbox is read before the webhooks: an event committed after a webhook
    // was created is either after `end` (the next round) or seen with that webhook listed.
    const end = (await store.outboxBounds()).last
    if (end <= cursor) return 0
    const hooks = await store.webhooks.listWebhooks({ enabledOnly: true, limit: 1000 })
    active = hooks.length > 0
    if (!active) {
      // No subscription: nothing to match, and no write either (a transaction a second on an
      // idle deployment, for nothing). The cursor stays; when a webhook appears, the events
      // before it are skipped by their time (`matches`), within the outbox's retention.
      return 0
    }
    const events = await store.readChanges(cursor, 200)
    const last = events.at(-1)
    if (!last) return 0
    await moveCursor(cursor, last.id, await matches(hooks, events))
    return events.length
  }

  async function moveCursor(from: number, to: number, deliveries: DeliveryPayload[]) {
    await store.transaction(async (tx) => {
      // Another node moved the cursor meanwhile: its jobs have the same keys; moving it back
      // would only repeat work.
      if (Number((await tx.getSetting(WEBHOOKS_CURSOR_KEY)) ?? '0') > from) return
      await enqueueAll(deliveries, tx)
      await tx.setSetting(WEBHOOKS_CURSOR_KEY, String(to))
    })
  }

  function wake(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        for (let i = 0; i < 50 && (await round()) === 200; i++);
      } while (again)
    })()
      .catch((error: unknown) => deps.onError(error))
      .finally(() => {
        running = undefined
      })
    return running
  }

  let nudged: NodeJS.Timeout | undefined
  /** A commit's wake: gathered for `batchMs`, then one round feeds every event committed. */
  function nudge(): void {
    if (nudged) return
    nudged = setTimeout(() => {
      nudged = undefined
      void wake()
    }, settings.batchMs)
    nudged.unref()
  }

  /** Sends one attempt; throws (so the job retries) unless the receiver answered 2xx. */
  async function deliver(payload: DeliveryPayload, job: JobAttempt): Promise<void> {
    const hook = await store.webhooks.getWebhook(payload.webhookId)
    if (!hook || !hook.enabled) return
    const now = clock.now()
    const timestamp = Math.floor(now.getTime() / 1000)
    const secrets = [box.open(hook.secret)]
    if (hook.previousSecret && (hook.previousExpires ?? '') > now.toISOString()) {
      secrets.push(box.open(hook.previousSecret))
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'EngineRoom-Webhooks/1',
      'webhook-id': payload.messageId,
      'webhook-timestamp': String(timestamp),
    }
    const signature = secrets.map((s) => signWebhook(s, payload.messageId, timestamp, payload.body))
    const request = [
      `POST ${hook.url}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      excerpt(payload.body),
    ].join('\n')
    const started = performance.now()
    let outcome: DeliveryOutcome = 'failed'
    let status: number | null = null
    let response = ''
    let error: string | null = null
    try {
      const answer = await postOutgoing(
        hook.url,
        payload.body,
        { ...headers, 'webhook-signature': signature.join(' ') },
        settings.policy,
      )
      status = answer.status
      response = answer.body
      if (status >= 200 && status < 300) outcome = 'delivered'
      else error = `the receiver answered ${status}`
    } catch (failure) {
      outcome = failure instanceof RefusedAddressError ? 'refused' : 'failed'
      error = failure instanceof Error ? failure.message : String(failure)
    }
    const durationMs = Math.round(performance.now() - started)
    for (const listener of outcomeListeners) listener(outcome, durationMs)
    await store.webhooks.insertDelivery({
      id: newId(),
      webhookId: hook.id,
      messageId: payload.messageId,
      attempt: job.attempt,
      outcome,
      body: payload.body,
      request,
      responseStatus: status,
      response: excerpt(response),
      durationMs,
      error,
      created: clock.now().toISOString(),
    })
    if (outcome === 'delivered') {
      // Only after failures: a write per delivery would double a busy SQLite's writes.
      if (hook.failures > 0) await store.webhooks.resetWebhookFailures(hook.id)
      return
    }
    if (job.attempt >= job.maxAttempts) await gaveUp(hook, error ?? 'failed')
    throw new Error(error ?? 'delivery failed')
  }

  async function gaveUp(hook: WebhookRow, reason: string): Promise<void> {
    const now = clock.now().toISOString()
    const failures = await store.webhooks.addWebhookFailure(hook.id, now)
    if (failures < settings.disableAfter) return
    const why = `disabled after ${failures} messages failed every attempt; last: ${reason}`
    if (await store.webhooks.disableWebhook(hook.id, why, now)) {
      deps.onNotice(`webhook ${hook.id} (${hook.url}) ${why}`)
    }
  }

  jobs.define(DELIVER_JOB, (payload, job) => deliver(payload as DeliveryPayload, job), {
    attempts: settings.attempts,
    backoffMs: settings.backoffMs,
    maxBackoffMs: settings.maxBackoffMs,
  })

  return {
    wake,
    nudge,
    authEvent,
    /** Tells `listener` of every attempt on this process (metrics). */
    onOutcome(listener: OutcomeListener): void {
      outcomeListeners.add(listener)
    },
    /**
     * Whether a commit on this node should wake the feeder: false while no enabled webhook
     * exists, so writes cost nothing extra then. A webhook created on any node is found by the
     * next poll (`pollMs`), which feeds every node's events from the shared outbox anyway.
     */
    get active(): boolean {
      return active
    },
    /** Tells the feeder a webhook was created or enabled here, so the next commit wakes it. */
    noteActive(): void {
      active = true
    },
    /** Queues a message again (a manual replay), with the same `webhook-id`. */
    replay: (payload: DeliveryPayload) => jobs.enqueue(DELIVER_JOB, payload),
    start() {
      timer = setInterval(() => void wake(), settings.pollMs)
      timer.unref()
      void wake()
    },
    async stop() {
      clearInterval(timer)
      clearTimeout(nudged)
      await running
    },
  }
}
