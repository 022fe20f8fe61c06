import type { ChangeEvent, Store, WebhookRow } from '../../adapters/store/store.js'
import type { JobAttempt } from '../../adapters/queue/queue.js'
import type { Clock } from '../../core/clock.js'
import { newId } from '../../core/ids.js'
import { cliContext } from '../context.js'
import type { JobsService } from '../jobs/jobs-service.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { postOutgoing, RefusedAddressError, type OutgoingPolicy } from './outgoing-request.js'
import { createSecretBox, signWebhook } from './webhook-signing.js'

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
}

export const DEFAULT_WEBHOOK_DELIVERY: WebhookDeliverySettings = {
  policy: { allowHosts: [] },
  attempts: 21,
  backoffMs: 10_000,
  maxBackoffMs: 2 * 3600_000,
  disableAfter: 3,
  pollMs: 1000,
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
export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const { store, clock, jobs, settings } = deps
  const box = createSecretBox(deps.serverSecret)
  const superuser = () => cliContext(deps.registry.get('_superusers'))
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  // Whether any enabled webhook exists, as last seen. While none does, a commit's wake costs
  // nothing (no outbox read, no query per write); the poll looks again every `pollMs`, and this
  // node's own webhook changes say so at once. Another node's new webhook is seen within one
  // poll; meanwhile that node feeds the shared cursor itself.
  let active = true

  async function matches(hooks: WebhookRow[], events: ChangeEvent[]): Promise<DeliveryPayload[]> {
    const out: DeliveryPayload[] = []
    for (const hook of hooks) {
      const candidates = events.filter(
        (e) =>
          e.collection === hook.collection &&
          hook.actions.includes(e.action) &&
          e.created >= hook.created,
      )
      if (candidates.length === 0) continue
      let passing = candidates
      if (hook.filter && deps.registry.find(hook.collection)) {
        try {
          const hits = await deps.records.visibleSnapshots(
            superuser(),
            hook.collection,
            candidates.map((e) => e.record),
            hook.filter,
          )
          passing = candidates.filter((_, i) => hits.has(i))
        } catch (error) {
          // The schema changed under the filter: nothing matches until it is fixed.
          deps.onNotice(`webhook ${hook.id}: its filter no longer applies (${String(error)})`)
          passing = []
        }
      }
      for (const event of passing) {
        out.push({
          webhookId: hook.id,
          messageId: `msg_${event.id}_${hook.id}`,
          body: JSON.stringify({
            collection: event.collection,
            action: event.action,
            record: event.record,
          }),
        })
      }
    }
    return out
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
    const events = await store.readChanges(cursor, 200)
    const last = events.at(-1)
    if (!last) return 0
    const hooks = await store.webhooks.listWebhooks({ enabledOnly: true, limit: 1000 })
    const deliveries = await matches(hooks, events)
    await store.transaction(async (tx) => {
      // Another node moved the cursor meanwhile: its jobs have the same keys; moving it back
      // would only repeat work.
      if (Number((await tx.getSetting(WEBHOOKS_CURSOR_KEY)) ?? '0') > cursor) return
      for (const delivery of deliveries) {
        await jobs.enqueue(DELIVER_JOB, delivery, {
          tx,
          idempotencyKey: `webhook:${delivery.webhookId}:${delivery.messageId}`,
        })
      }
      await tx.setSetting(WEBHOOKS_CURSOR_KEY, String(last.id))
    })
    return events.length
  }

  /**
   * The poll's look at the webhooks: with none enabled, the cursor moves to the outbox's end as
   * read *before* the look, so no event committed after a webhook appeared is skipped.
   */
  async function idleRound(): Promise<boolean> {
    const { last } = await store.outboxBounds()
    const hooks = await store.webhooks.listWebhooks({ enabledOnly: true, limit: 1 })
    active = hooks.length > 0
    if (active) return false
    const stored = await store.getSetting(WEBHOOKS_CURSOR_KEY)
    if (stored !== undefined && Number(stored) >= last) return true
    await store.transaction(async (tx) => {
      if (Number((await tx.getSetting(WEBHOOKS_CURSOR_KEY)) ?? '-1') >= last) return
      await tx.setSetting(WEBHOOKS_CURSOR_KEY, String(last))
    })
    return true
  }

  function poll(): Promise<void> {
    if (running) return running
    running = idleRound()
      .catch((error: unknown) => {
        deps.onError(error)
        return false
      })
      .then((idle) => {
        running = undefined
        if (!idle) return wake()
      })
    return running
  }

  function wake(): Promise<void> {
    if (!active) return Promise.resolve()
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
    let outcome: 'delivered' | 'failed' | 'refused' = 'failed'
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
      durationMs: Math.round(performance.now() - started),
      error,
      created: clock.now().toISOString(),
    })
    if (outcome === 'delivered') {
      await store.webhooks.resetWebhookFailures(hook.id)
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
    /** This node changed a webhook: feed on commits again, and look at once. */
    changed(): Promise<void> {
      active = true
      return wake()
    },
    /** Queues a message again (a manual replay), with the same `webhook-id`. */
    replay: (payload: DeliveryPayload) => jobs.enqueue(DELIVER_JOB, payload),
    start() {
      timer = setInterval(() => void poll(), settings.pollMs)
      timer.unref()
      void poll()
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
