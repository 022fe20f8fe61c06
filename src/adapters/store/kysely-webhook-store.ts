import type { DynamicDb } from './dynamic-db.js'
import type { DeliveryRow, WebhookRow, WebhookStore } from './store-jobs.js'

type DbRow = Record<string, unknown>

const toWebhook = (r: DbRow): WebhookRow => ({
  id: r.id as string,
  url: r.url as string,
  collection: r.collection as string,
  actions: JSON.parse(r.actions as string) as string[],
  filter: (r.filter as string | null) ?? null,
  enabled: Number(r.enabled) === 1,
  secret: r.secret as string,
  previousSecret: (r.previous_secret as string | null) ?? null,
  previousExpires: (r.previous_expires as string | null) ?? null,
  failures: Number(r.failures),
  disabledReason: (r.disabled_reason as string | null) ?? null,
  disabledAt: (r.disabled_at as string | null) ?? null,
  created: r.created as string,
  updated: r.updated as string,
})

const fromWebhook = (row: WebhookRow) => ({
  id: row.id,
  url: row.url,
  collection: row.collection,
  actions: JSON.stringify(row.actions),
  filter: row.filter,
  enabled: row.enabled ? 1 : 0,
  secret: row.secret,
  previous_secret: row.previousSecret,
  previous_expires: row.previousExpires,
  failures: row.failures,
  disabled_reason: row.disabledReason,
  disabled_at: row.disabledAt,
  created: row.created,
  updated: row.updated,
})

const toDelivery = (r: DbRow): DeliveryRow => ({
  id: r.id as string,
  webhookId: r.webhook_id as string,
  messageId: r.message_id as string,
  attempt: Number(r.attempt),
  outcome: r.outcome as DeliveryRow['outcome'],
  body: r.body as string,
  request: r.request as string,
  responseStatus: r.response_status === null ? null : Number(r.response_status),
  response: r.response as string,
  durationMs: Number(r.duration_ms),
  error: (r.error as string | null) ?? null,
  created: r.created as string,
})

/** `_webhooks` and `_webhook_deliveries` on Kysely; the SQL is the same on both dialects. */
export class KyselyWebhookStore implements WebhookStore {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async insertWebhook(row: WebhookRow): Promise<void> {
    await this.#db.insertInto('_webhooks').values(fromWebhook(row)).execute()
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const row = await this.#db
      .selectFrom('_webhooks')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toWebhook(row) : undefined
  }

  async listWebhooks(query: {
    collection?: string
    enabledOnly?: boolean
    limit: number
  }): Promise<WebhookRow[]> {
    let select = this.#db.selectFrom('_webhooks').selectAll()
    if (query.collection !== undefined) select = select.where('collection', '=', query.collection)
    if (query.enabledOnly) select = select.where('enabled', '=', 1)
    const rows = await select.orderBy('created').orderBy('id').limit(query.limit).execute()
    return rows.map(toWebhook)
  }

  async updateWebhook(row: WebhookRow): Promise<void> {
    const { id, created: _created, ...values } = fromWebhook(row)
    await this.#db.updateTable('_webhooks').set(values).where('id', '=', id).execute()
  }

  async deleteWebhook(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('_webhooks').where('id', '=', id).executeTakeFirst()
    await this.#db.deleteFrom('_webhook_deliveries').where('webhook_id', '=', id).execute()
    return Number(result.numDeletedRows) === 1
  }

  async addWebhookFailure(id: string, now: string): Promise<number> {
    await this.#db
      .updateTable('_webhooks')
      .set((eb) => ({ failures: eb('failures', '+', 1), updated: now }))
      .where('id', '=', id)
      .execute()
    const row = await this.#db
      .selectFrom('_webhooks')
      .select('failures')
      .where('id', '=', id)
      .executeTakeFirst()
    return Number(row?.failures ?? 0)
  }

  async resetWebhookFailures(id: string): Promise<void> {
    await this.#db
      .updateTable('_webhooks')
      .set({ failures: 0 })
      .where('id', '=', id)
      .where('failures', '!=', 0)
      .execute()
  }

  async disableWebhook(id: string, reason: string, now: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('_webhooks')
      .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated: now })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertDelivery(row: DeliveryRow): Promise<void> {
    await this.#db
      .insertInto('_webhook_deliveries')
      .values({
        id: row.id,
        webhook_id: row.webhookId,
        message_id: row.messageId,
        attempt: row.attempt,
        outcome: row.outcome,
        body: row.body,
        request: row.request,
        response_status: row.responseStatus,
        response: row.response,
        duration_ms: row.durationMs,
        error: row.error,
        created: row.created,
      })
      .execute()
  }

  async getDelivery(webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    const row = await this.#db
      .selectFrom('_webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toDelivery(row) : undefined
  }

  async listDeliveries(webhookId: string, limit: number, before?: string): Promise<DeliveryRow[]> {
    let select = this.#db
      .selectFrom('_webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
    if (before) select = select.where('id', '<', before)
    const rows = await select.orderBy('id', 'desc').limit(limit).execute()
    return rows.map(toDelivery)
  }

  async pruneDeliveries(before: string): Promise<number> {
    const result = await this.#db
      .deleteFrom('_webhook_deliveries')
      .where('created', '<', before)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
