import type { DeliveryRow, Store, WebhookRow } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import { requireAdminScope } from '../admin-access.js'
import { cliContext, type RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { checkOutgoingUrl, RefusedAddressError, type OutgoingPolicy } from './outgoing-request.js'
import { AUTH_WEBHOOK_EVENTS, type createWebhookDelivery } from './webhook-delivery.js'
import { createSecretBox, newWebhookSecret } from './webhook-signing.js'

const ACTIONS = ['create', 'update', 'delete'] as const
/** How long the previous secret keeps signing after a rotation (default 24 hours). */
const ROTATION_OVERLAP_MS = 24 * 3600_000
const MAX_WEBHOOKS = 1000

export interface WebhooksServiceDeps {
  store: Store
  clock: Clock
  records: RecordsService
  registry: SchemaRegistry
  serverSecret: string
  policy: OutgoingPolicy
  delivery: ReturnType<typeof createWebhookDelivery>
}

/** A webhook as the API shows it: never a secret, except `secret` once on create or rotate. */
export interface WebhookView {
  id: string
  url: string
  collection: string
  actions: string[]
  filter: string | null
  enabled: boolean
  /** Why it was disabled automatically (persistent failure), with when. */
  disabledReason: string | null
  disabledAt: string | null
  /** Messages given up on in a row. */
  failures: number
  /** Until when the previous secret still signs (during a rotation). */
  previousSecretExpires: string | null
  created: string
  updated: string
  secret?: string
}

export type DeliveryView = Omit<DeliveryRow, 'body'> & { body: string }

export type WebhooksService = ReturnType<typeof createWebhooksService>

const view = (row: WebhookRow, now: string, secret?: string): WebhookView => ({
  id: row.id,
  url: row.url,
  collection: row.collection,
  actions: row.actions,
  filter: row.filter,
  enabled: row.enabled,
  disabledReason: row.disabledReason,
  disabledAt: row.disabledAt,
  failures: row.failures,
  previousSecretExpires:
    row.previousSecret && (row.previousExpires ?? '') > now ? row.previousExpires : null,
  created: row.created,
  updated: row.updated,
  ...(secret ? { secret } : {}),
})

/**
 * `/api/webhooks`: subscriptions per collection and actions with an optional filter in the rule
 * language, their delivery log and manual replay. Superusers only. On an auth collection,
 * `actions` may also list `signUp`, `signIn`, `passwordReset` and `emailVerified`.
 *
 * @example
 *   POST /api/webhooks { "url": "https://crm.example.com/hook", "collection": "users",
 *                        "actions": ["signUp", "emailVerified"], "filter": "verified = true" }
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const { store, clock } = deps
  const box = createSecretBox(deps.serverSecret)
  const now = () => clock.now().toISOString()

  async function checkUrl(value: unknown): Promise<string> {
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
      throw invalidField('url', 'type', 'url is an http(s) URL of at most 2048 characters')
    }
    try {
      return (await checkOutgoingUrl(value, deps.policy)).toString()
    } catch (error) {
      if (!(error instanceof RefusedAddressError)) throw error
      throw new EngineError('ER_WEBHOOK_URL_REFUSED', `url: ${error.message}.`, {
        errors: { url: [{ code: 'refused', message: error.message }] },
      })
    }
  }

  async function checkSubscription(
    collection: unknown,
    actions: unknown,
    filter: unknown,
  ): Promise<{ collection: string; actions: string[]; filter: string | null }> {
    const definition = typeof collection === 'string' ? deps.registry.find(collection) : undefined
    if (typeof collection !== 'string' || !definition) {
      throw invalidField('collection', 'unknown', `no collection "${String(collection)}"`)
    }
    // An auth collection's webhooks may also hear its auth events (signUp, signIn, …).
    const allowed: readonly unknown[] =
      definition.type === 'auth' ? [...ACTIONS, ...AUTH_WEBHOOK_EVENTS] : ACTIONS
    if (
      !Array.isArray(actions) ||
      actions.length === 0 ||
      actions.length > 20 ||
      !actions.every((a) => allowed.includes(a))
    ) {
      throw invalidField(
        'actions',
        'type',
        `actions is a non-empty list of ${allowed.join(', ')}` +
          (definition.type === 'auth' ? '' : ` (auth events need an auth collection)`),
      )
    }
    if (filter !== undefined && filter !== null && typeof filter !== 'string') {
      throw invalidField('filter', 'type', 'filter is a string in the rule language')
    }
    const text = typeof filter === 'string' && filter.trim() !== '' ? filter : null
    // Checked against the collection as a list filter would be (400 naming the position).
    if (text)
      await deps.records.visibleSnapshots(
        cliContext(deps.registry.get('_superusers')),
        collection,
        [],
        text,
      )
    return { collection, actions: [...new Set(actions as string[])], filter: text }
  }

  function objectBody(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidField('body', 'type', 'the body is a JSON object')
    }
    return body as Record<string, unknown>
  }

  async function mustGet(id: string): Promise<WebhookRow> {
    const row = await store.webhooks.getWebhook(id)
    if (!row) throw new EngineError('ER_WEBHOOK_NOT_FOUND', `No webhook "${id}".`)
    return row
  }

  return {
    /** Tells `listener` of every delivery attempt made on this process (metrics). */
    onDelivery: deps.delivery.onOutcome,

    async list(ctx: RequestContext): Promise<{ items: WebhookView[] }> {
      requireAdminScope(ctx, 'list')
      const rows = await store.webhooks.listWebhooks({ limit: MAX_WEBHOOKS })
      return { items: rows.map((r) => view(r, now())) }
    },

    async get(ctx: RequestContext, id: string): Promise<WebhookView> {
      requireAdminScope(ctx, 'view')
      return view(await mustGet(id), now())
    },

    /** Creates a subscription; its secret is in this answer and never again. */
    async create(ctx: RequestContext, input: unknown): Promise<WebhookView> {
      requireAdminScope(ctx, 'create')
      const body = objectBody(input)
      const url = await checkUrl(body.url)
      const sub = await checkSubscription(body.collection, body.actions, body.filter)
      if (body.enabled !== undefined && typeof body.enabled !== 'boolean') {
        throw invalidField('enabled', 'type', 'enabled is true or false')
      }
      const at = now()
      const secret = newWebhookSecret()
      const row: WebhookRow = {
        id: newId(),
        url,
        ...sub,
        enabled: body.enabled !== false,
        secret: box.seal(secret),
        previousSecret: null,
        previousExpires: null,
        failures: 0,
        disabledReason: null,
        disabledAt: null,
        created: at,
        updated: at,
      }
      await store.webhooks.insertWebhook(row)
      if (row.enabled) deps.delivery.noteActive()
      return view(row, at, secret)
    },

    /**
     * Changes `url`, `collection`, `actions`, `filter`, `enabled` (enabling clears an automatic
     * disable); `rotateSecret: true` makes a new secret (answered once) while the old one keeps
     * signing for 24 hours, `retirePreviousSecret: true` ends that overlap at once.
     */
    async update(ctx: RequestContext, id: string, input: unknown): Promise<WebhookView> {
      requireAdminScope(ctx, 'update')
      const body = objectBody(input)
      const row = await mustGet(id)
      const at = now()
      const next: WebhookRow = { ...row, updated: at }
      if (body.url !== undefined) next.url = await checkUrl(body.url)
      if (
        body.collection !== undefined ||
        body.actions !== undefined ||
        body.filter !== undefined
      ) {
        Object.assign(
          next,
          await checkSubscription(
            body.collection ?? row.collection,
            body.actions ?? row.actions,
            body.filter === undefined ? row.filter : body.filter,
          ),
        )
      }
      if (body.enabled !== undefined) {
        if (typeof body.enabled !== 'boolean') {
          throw invalidField('enabled', 'type', 'enabled is true or false')
        }
        next.enabled = body.enabled
        if (body.enabled)
          Object.assign(next, { disabledReason: null, disabledAt: null, failures: 0 })
      }
      let secret: string | undefined
      if (body.rotateSecret === true) {
        secret = newWebhookSecret()
        next.previousSecret = row.secret
        next.previousExpires = new Date(clock.now().getTime() + ROTATION_OVERLAP_MS).toISOString()
        next.secret = box.seal(secret)
      }
      if (body.retirePreviousSecret === true) {
        next.previousSecret = null
        next.previousExpires = null
      }
      await store.webhooks.updateWebhook(next)
      if (next.enabled) deps.delivery.noteActive()
      return view(next, at, secret)
    },

    async remove(ctx: RequestContext, id: string): Promise<void> {
      requireAdminScope(ctx, 'delete')
      if (!(await store.webhooks.deleteWebhook(id))) {
        throw new EngineError('ER_WEBHOOK_NOT_FOUND', `No webhook "${id}".`)
      }
    },

    /** The delivery log, newest first: every attempt with its request, response and timing. */
    async deliveries(
      ctx: RequestContext,
      id: string,
      query: { limit: number; before?: string },
    ): Promise<{ items: DeliveryView[] }> {
      requireAdminScope(ctx, 'view')
      await mustGet(id)
      return { items: await store.webhooks.listDeliveries(id, query.limit, query.before) }
    },

    /** Sends a logged message again (same `webhook-id`, fresh timestamp and signature). */
    async replay(ctx: RequestContext, id: string, deliveryId: string): Promise<{ job: string }> {
      requireAdminScope(ctx, 'update')
      await mustGet(id)
      const delivery = await store.webhooks.getDelivery(id, deliveryId)
      if (!delivery) {
        throw new EngineError(
          'ER_WEBHOOK_NOT_FOUND',
          `No delivery "${deliveryId}" of webhook "${id}".`,
        )
      }
      const { id: job } = await deps.delivery.replay({
        webhookId: id,
        messageId: delivery.messageId,
        body: delivery.body,
      })
      return { job }
    },
  }
}
