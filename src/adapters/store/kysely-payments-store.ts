import type { DynamicDb } from './dynamic-db.js'
import type { CheckoutRow, CheckoutStatus, LedgerRow, PaymentsStore, ProductRow } from './store.js'

type DbRow = Record<string, unknown>

// PostgreSQL returns bigint as text; both dialects store `active` as 0/1.
const toProduct = (r: DbRow): ProductRow => ({
  id: r.id as string,
  name: r.name as string,
  description: r.description as string,
  amount: Number(r.amount),
  currency: r.currency as string,
  grant: (r.grant as string | null) ?? null,
  active: Number(r.active) === 1,
  created: r.created as string,
  updated: r.updated as string,
})

const toCheckout = (r: DbRow): CheckoutRow => ({
  id: r.id as string,
  provider: r.provider as string,
  providerRef: (r.provider_ref as string | null) ?? null,
  providerPayment: (r.provider_payment as string | null) ?? null,
  userCollection: r.user_collection as string,
  userId: r.user_id as string,
  productId: r.product_id as string,
  quantity: Number(r.quantity),
  amount: Number(r.amount),
  currency: r.currency as string,
  status: r.status as CheckoutStatus,
  created: r.created as string,
  updated: r.updated as string,
})

const toLedger = (r: DbRow): LedgerRow => ({
  id: r.id as string,
  checkoutId: r.checkout_id as string,
  userCollection: r.user_collection as string,
  userId: r.user_id as string,
  productId: r.product_id as string,
  kind: r.kind as LedgerRow['kind'],
  amount: Number(r.amount),
  currency: r.currency as string,
  provider: r.provider as string,
  providerEvent: r.provider_event as string,
  created: r.created as string,
})

const productValues = (row: ProductRow) => ({
  id: row.id,
  name: row.name,
  description: row.description,
  amount: row.amount,
  currency: row.currency,
  grant: row.grant,
  active: row.active ? 1 : 0,
  created: row.created,
  updated: row.updated,
})

/** `_payment_*` on Kysely; the SQL is the same on SQLite and PostgreSQL. */
export class KyselyPaymentsStore implements PaymentsStore {
  readonly #db: DynamicDb

  constructor(db: DynamicDb) {
    this.#db = db
  }

  async listProducts(activeOnly: boolean): Promise<ProductRow[]> {
    let query = this.#db.selectFrom('_payment_products').selectAll().orderBy('name').orderBy('id')
    if (activeOnly) query = query.where('active', '=', 1)
    return (await query.execute()).map(toProduct)
  }

  async getProduct(id: string): Promise<ProductRow | undefined> {
    const row = await this.#db
      .selectFrom('_payment_products')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toProduct(row) : undefined
  }

  async insertProduct(row: ProductRow): Promise<void> {
    await this.#db.insertInto('_payment_products').values(productValues(row)).execute()
  }

  async updateProduct(row: ProductRow): Promise<void> {
    const { id, created: _created, ...rest } = productValues(row)
    await this.#db.updateTable('_payment_products').set(rest).where('id', '=', id).execute()
  }

  async insertCheckout(row: CheckoutRow): Promise<void> {
    await this.#db
      .insertInto('_payment_checkouts')
      .values({
        id: row.id,
        provider: row.provider,
        provider_ref: row.providerRef,
        provider_payment: row.providerPayment,
        user_collection: row.userCollection,
        user_id: row.userId,
        product_id: row.productId,
        quantity: row.quantity,
        amount: row.amount,
        currency: row.currency,
        status: row.status,
        created: row.created,
        updated: row.updated,
      })
      .execute()
  }

  async getCheckout(id: string): Promise<CheckoutRow | undefined> {
    const row = await this.#db
      .selectFrom('_payment_checkouts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row ? toCheckout(row) : undefined
  }

  async setCheckoutRef(id: string, providerRef: string): Promise<void> {
    await this.#db
      .updateTable('_payment_checkouts')
      .set({ provider_ref: providerRef })
      .where('id', '=', id)
      .execute()
  }

  async moveCheckout(
    id: string,
    from: readonly CheckoutStatus[],
    to: CheckoutStatus,
    at: string,
    providerPayment?: string,
  ): Promise<boolean> {
    // A conditional update: of two deliveries of one event racing, exactly one moves the row
    // (PostgreSQL re-checks the condition after waiting for the other's row lock).
    const result = await this.#db
      .updateTable('_payment_checkouts')
      .set({
        status: to,
        updated: at,
        ...(providerPayment === undefined ? {} : { provider_payment: providerPayment }),
      })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async noteEvent(
    provider: string,
    eventId: string,
    checkoutId: string | null,
    outcome: string,
    at: string,
  ): Promise<boolean> {
    const result = await this.#db
      .insertInto('_payment_events')
      .values({
        provider,
        event_id: eventId,
        checkout_id: checkoutId,
        outcome,
        received: at,
      })
      .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async appendLedger(row: LedgerRow): Promise<void> {
    await this.#db
      .insertInto('_payment_ledger')
      .values({
        id: row.id,
        checkout_id: row.checkoutId,
        user_collection: row.userCollection,
        user_id: row.userId,
        product_id: row.productId,
        kind: row.kind,
        amount: row.amount,
        currency: row.currency,
        provider: row.provider,
        provider_event: row.providerEvent,
        created: row.created,
      })
      .execute()
  }

  async listLedger(
    user: { collection: string; id: string } | undefined,
    limit: number,
    before?: string,
  ): Promise<LedgerRow[]> {
    let query = this.#db.selectFrom('_payment_ledger').selectAll()
    if (user) {
      query = query.where('user_collection', '=', user.collection).where('user_id', '=', user.id)
    }
    if (before !== undefined) query = query.where('id', '<', before)
    const rows = await query.orderBy('id', 'desc').limit(limit).execute()
    return rows.map(toLedger)
  }
}
