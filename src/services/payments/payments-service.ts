import {
  SignatureError,
  type IncomingHeaders,
  type PaymentProvider,
  type ProviderEvent,
  type SignedDelivery,
} from '../../adapters/payments/payments.js'
import type { TestPayments } from '../../adapters/payments/test/test-payments.js'
import type { CheckoutRow, LedgerRow, Store, StoreSession } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import { newId } from '../../core/ids.js'
import { requireSuperuser } from '../access.js'
import { cliContext, type RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import {
  grantRecord,
  readProductInput,
  toProduct,
  type Product,
  type ProductGrant,
  type ProductInput,
} from './payment-products.js'

export interface PaymentsDeps {
  store: Store
  records: RecordsService
  registry: SchemaRegistry
  provider: PaymentProvider
  clock: Clock
  /** Public URL of the app (the test provider's page and the default return URLs live there). */
  publicUrl: () => string
  /** A grant that cannot be created is reported here (the provider will retry the event). */
  logError?: (error: unknown, message: string) => void
}

export interface CheckoutView {
  id: string
  product: string
  quantity: number
  amount: number
  currency: string
  status: CheckoutRow['status']
  created: string
  updated: string
}

const MAX_QUANTITY = 100
const MAX_LEDGER_PAGE = 200

/**
 * Payments: a product catalogue, hosted checkouts, and a ledger written only from the
 * provider's verified events, each applied exactly once (its id noted in the same transaction as
 * its effects), whatever order and however often the provider delivers them.
 */
export function createPaymentsService(deps: PaymentsDeps) {
  const { store, records, registry, provider, clock } = deps
  const now = () => clock.now().toISOString()

  function requirePerson(ctx: RequestContext): NonNullable<RequestContext['auth']> {
    if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to pay.')
    if (ctx.auth.apiKey) {
      throw new EngineError('ER_FORBIDDEN', 'API keys cannot pay or see payments; sign in.')
    }
    return ctx.auth
  }

  function requireAdmin(ctx: RequestContext): void {
    requireSuperuser(ctx)
    if (ctx.auth?.apiKey) throw new EngineError('ER_FORBIDDEN', 'API keys cannot manage payments.')
  }

  async function listProducts(ctx: RequestContext, all: boolean): Promise<Product[]> {
    const admin = ctx.auth?.isSuperuser === true && !ctx.auth.apiKey
    const rows = await store.payments.listProducts(!(all && admin))
    return rows.map((row) => toProduct(row, admin))
  }

  async function createProduct(ctx: RequestContext, input: ProductInput): Promise<Product> {
    requireAdmin(ctx)
    const row = readProductInput(input, undefined, {
      newId: () => newId(),
      now: now(),
      collectionExists: (name) => registry.find(name) !== undefined,
    })
    if (await store.payments.getProduct(row.id)) {
      throw new EngineError('ER_RECORD_CONFLICT', `A product "${row.id}" exists already.`, {
        errors: { id: [{ code: 'unique', message: 'is taken' }] },
      })
    }
    await store.payments.insertProduct(row)
    return toProduct(row, true)
  }

  async function updateProduct(ctx: RequestContext, id: string, input: ProductInput) {
    requireAdmin(ctx)
    const previous = await productOrThrow(store, id)
    const row = readProductInput(input, previous, {
      newId: () => id,
      now: now(),
      collectionExists: (name) => registry.find(name) !== undefined,
    })
    await store.payments.updateProduct(row)
    return toProduct(row, true)
  }

  /** Opens a checkout of an active product for the signed-in caller; answers where to pay. */
  async function checkout(
    ctx: RequestContext,
    body: unknown,
  ): Promise<{ id: string; url: string }> {
    const payer = requirePerson(ctx)
    const { product: productId, quantity = 1, ...rest } = (body ?? {}) as Record<string, unknown>
    const issues: Record<string, { code: string; message: string }[]> = {}
    if (Object.keys(rest).length > 0) {
      issues[Object.keys(rest)[0] as string] = [
        { code: 'unknown', message: 'is not a checkout field' },
      ]
    }
    if (typeof productId !== 'string' || productId === '') {
      issues.product = [{ code: 'required', message: 'must name a product' }]
    }
    if (
      typeof quantity !== 'number' ||
      !Number.isInteger(quantity) ||
      quantity < 1 ||
      quantity > MAX_QUANTITY
    ) {
      issues.quantity = [{ code: 'range', message: `must be an integer from 1 to ${MAX_QUANTITY}` }]
    }
    if (Object.keys(issues).length > 0) {
      const [first] = Object.keys(issues)
      throw new EngineError('ER_VALIDATION_FAILED', `Invalid value for "${first}".`, {
        errors: issues,
      })
    }
    const product = await store.payments.getProduct(productId as string)
    if (!product || !product.active) {
      throw new EngineError(
        'ER_PAYMENT_PRODUCT_UNKNOWN',
        `There is no product "${String(productId)}" for sale.`,
      )
    }
    const at = now()
    const row: CheckoutRow = {
      id: newId(),
      provider: provider.name,
      providerRef: null,
      providerPayment: null,
      userCollection: payer.collection.id,
      userId: String(payer.record.id),
      productId: product.id,
      quantity: quantity as number,
      amount: product.amount * (quantity as number),
      currency: product.currency,
      status: 'open',
      created: at,
      updated: at,
    }
    await store.payments.insertCheckout(row)
    const back = `${deps.publicUrl()}/api/payments/checkouts/${row.id}`
    let hosted
    try {
      hosted = await provider.createCheckout({
        checkoutId: row.id,
        productName: product.name,
        unitAmount: product.amount,
        quantity: row.quantity,
        currency: product.currency,
        successUrl: `${back}?result=success`,
        cancelUrl: `${back}?result=cancel`,
      })
    } catch (error) {
      await store.payments.moveCheckout(row.id, ['open'], 'failed', now())
      deps.logError?.(error, 'payment provider refused a checkout')
      throw new EngineError(
        'ER_PAYMENT_PROVIDER_FAILED',
        'The payment provider did not open a checkout; try again.',
      )
    }
    await store.payments.setCheckoutRef(row.id, hosted.ref)
    return { id: row.id, url: hosted.url }
  }

  /** A checkout, for its payer (or a superuser). */
  async function viewCheckout(ctx: RequestContext, id: string): Promise<CheckoutView> {
    const payer = requirePerson(ctx)
    const row = await store.payments.getCheckout(id)
    const mine =
      row && row.userCollection === payer.collection.id && row.userId === String(payer.record.id)
    if (!row || !(mine || payer.isSuperuser)) {
      throw new EngineError('ER_PAYMENT_CHECKOUT_UNKNOWN', `There is no checkout "${id}" of yours.`)
    }
    return checkoutView(row)
  }

  /**
   * A provider's webhook: verified over the raw body, then applied in one transaction with the
   * note that it was applied. A repeat is answered 200 and changes nothing.
   */
  async function receive(providerName: string, rawBody: Buffer, headers: IncomingHeaders) {
    if (providerName !== provider.name) {
      throw new EngineError('ER_ROUTE_NOT_FOUND', `Payments here come from "${provider.name}".`)
    }
    let event: ProviderEvent
    try {
      event = await provider.readEvent(rawBody, headers)
    } catch (error) {
      if (error instanceof SignatureError || error instanceof SyntaxError) {
        throw new EngineError('ER_PAYMENT_SIGNATURE_INVALID', `Webhook refused: ${error.message}`)
      }
      throw error
    }
    const applied = await records.transaction((tx) => apply(tx, event))
    return { received: true, applied }
  }

  async function apply(tx: StoreSession, event: ProviderEvent): Promise<boolean> {
    const at = now()
    if (
      !(await tx.payments.noteEvent(provider.name, event.id, event.checkoutId, event.outcome, at))
    ) {
      return false
    }
    if (event.outcome === 'ignored' || event.checkoutId === null) return true
    const checkout = await tx.payments.getCheckout(event.checkoutId)
    if (!checkout || checkout.provider !== provider.name) {
      throw new EngineError(
        'ER_PAYMENT_CHECKOUT_UNKNOWN',
        `The event names no checkout of this provider.`,
      )
    }
    switch (event.outcome) {
      case 'paid': {
        if (event.amount !== undefined && event.amount !== checkout.amount) {
          throw new EngineError(
            'ER_PAYMENT_EVENT_INVALID',
            `The event reports ${event.amount} paid for a checkout of ${checkout.amount}.`,
          )
        }
        // Money was taken: that holds even if a cancel or failure for the same checkout came first.
        const moved = await tx.payments.moveCheckout(
          checkout.id,
          ['open', 'failed', 'canceled'],
          'paid',
          at,
          event.payment,
        )
        if (!moved) return true
        await tx.payments.appendLedger(ledgerEntry(checkout, 'payment', checkout.amount, event, at))
        await grant(tx, checkout)
        return true
      }
      case 'failed':
      case 'canceled':
        await tx.payments.moveCheckout(checkout.id, ['open'], event.outcome, at)
        return true
      case 'refunded': {
        if (checkout.status !== 'paid' && checkout.status !== 'refunded') {
          // Delivered before the payment it refunds: refused, so the provider delivers it again
          // after the payment (providers retry any answer but 2xx).
          throw new EngineError(
            'ER_PAYMENT_EVENT_EARLY',
            'This refund arrived before its payment; send it again later.',
          )
        }
        if (await tx.payments.moveCheckout(checkout.id, ['paid'], 'refunded', at)) {
          await tx.payments.appendLedger(
            ledgerEntry(checkout, 'refund', -checkout.amount, event, at),
          )
        }
        return true
      }
    }
  }

  async function grant(tx: StoreSession, checkout: CheckoutRow): Promise<void> {
    const product = await tx.payments.getProduct(checkout.productId)
    if (!product?.grant) return
    const what = JSON.parse(product.grant) as ProductGrant
    const system = {
      ...cliContext(registry.get('_superusers')),
      requestId: `payment:${checkout.id}`,
    }
    await records.create(system, what.collection, grantRecord(what, checkout), tx)
  }

  async function ledger(
    ctx: RequestContext,
    query: { limit?: string; before?: string; all?: string },
  ) {
    const caller = requirePerson(ctx)
    const limit = Math.min(
      Math.max(Number.parseInt(query.limit ?? '50', 10) || 50, 1),
      MAX_LEDGER_PAGE,
    )
    const everyone = query.all === 'true' && caller.isSuperuser
    const rows = await store.payments.listLedger(
      everyone ? undefined : { collection: caller.collection.id, id: String(caller.record.id) },
      limit,
      query.before,
    )
    return {
      items: rows.map(ledgerView),
      next: rows.length === limit ? rows.at(-1)?.id : undefined,
    }
  }

  /** A superuser refunds a paid checkout in full; the ledger moves when the provider confirms. */
  async function refund(ctx: RequestContext, body: unknown) {
    requireAdmin(ctx)
    const id = (body as { checkout?: unknown } | null)?.checkout
    const checkout = typeof id === 'string' ? await store.payments.getCheckout(id) : undefined
    if (!checkout)
      throw new EngineError(
        'ER_PAYMENT_CHECKOUT_UNKNOWN',
        'Name the checkout to refund as "checkout".',
      )
    if (checkout.status !== 'paid') {
      throw new EngineError(
        'ER_PAYMENT_NOT_REFUNDABLE',
        `The checkout is ${checkout.status}; only a paid one can be refunded.`,
      )
    }
    const delivery = await provider.refund({
      checkoutId: checkout.id,
      providerPayment: checkout.providerPayment,
      amount: checkout.amount,
    })
    if (delivery) await deliver(delivery)
    return checkoutView((await store.payments.getCheckout(checkout.id)) ?? checkout)
  }

  /** The test provider's page action: the customer's choice, delivered as a signed webhook. */
  async function playTestCheckout(
    id: string,
    outcome: unknown,
  ): Promise<{ delivery: SignedDelivery; checkout: CheckoutView }> {
    const testProvider = provider as TestPayments
    if (provider.name !== 'test')
      throw new EngineError('ER_ROUTE_NOT_FOUND', 'The test provider is not in use.')
    if (outcome !== 'paid' && outcome !== 'failed' && outcome !== 'canceled') {
      throw new EngineError('ER_VALIDATION_FAILED', 'Invalid value for "outcome".', {
        errors: { outcome: [{ code: 'enum', message: 'must be "paid", "failed" or "canceled"' }] },
      })
    }
    // The checkout id is the capability, as a hosted checkout page's URL is.
    const checkout = await store.payments.getCheckout(id)
    if (!checkout)
      throw new EngineError('ER_PAYMENT_CHECKOUT_UNKNOWN', `There is no checkout "${id}".`)
    const delivery = testProvider.sign(`checkout.${outcome}`, {
      checkout: checkout.id,
      amount: checkout.amount,
    })
    await deliver(delivery)
    return { delivery, checkout: checkoutView((await store.payments.getCheckout(id)) ?? checkout) }
  }

  async function deliver(delivery: SignedDelivery): Promise<void> {
    await receive(provider.name, Buffer.from(delivery.body), delivery.headers)
  }

  return {
    listProducts,
    createProduct,
    updateProduct,
    checkout,
    viewCheckout,
    receive,
    ledger,
    refund,
    playTestCheckout,
    providerName: provider.name,
  }
}

export type PaymentsService = ReturnType<typeof createPaymentsService>

async function productOrThrow(store: Store, id: string) {
  const row = await store.payments.getProduct(id)
  if (!row) throw new EngineError('ER_PAYMENT_PRODUCT_UNKNOWN', `There is no product "${id}".`)
  return row
}

function ledgerEntry(
  checkout: CheckoutRow,
  kind: LedgerRow['kind'],
  amount: number,
  event: ProviderEvent,
  at: string,
): LedgerRow {
  return {
    id: newId(),
    checkoutId: checkout.id,
    userCollection: checkout.userCollection,
    userId: checkout.userId,
    productId: checkout.productId,
    kind,
    amount,
    currency: checkout.currency,
    provider: checkout.provider,
    providerEvent: event.id,
    created: at,
  }
}

function checkoutView(row: CheckoutRow): CheckoutView {
  return {
    id: row.id,
    product: row.productId,
    quantity: row.quantity,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    created: row.created,
    updated: row.updated,
  }
}

function ledgerView(row: LedgerRow) {
  return {
    id: row.id,
    checkout: row.checkoutId,
    product: row.productId,
    kind: row.kind,
    amount: row.amount,
    currency: row.currency,
    created: row.created,
  }
}
