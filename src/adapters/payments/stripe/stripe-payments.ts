import Stripe from 'stripe'
import {
  SignatureError,
  type CheckoutRequest,
  type IncomingHeaders,
  type PaymentProvider,
  type ProviderEvent,
} from '../payments.js'

export interface StripeSettings {
  /** `ER_STRIPE_SECRET_KEY`: `sk_live_…` or `sk_test_…`. */
  secretKey: string
  /** `ER_STRIPE_WEBHOOK_SECRET`: the endpoint's `whsec_…` signing secret. */
  webhookSecret: string
}

/**
 * Stripe Checkout through the `stripe` package: a Checkout Session per checkout (our id in
 * `client_reference_id` and in the payment's metadata, so refunds find their checkout), events
 * verified with Stripe's own `constructEvent` (HMAC-SHA256 over the raw body, 5 minutes' tolerance).
 */
export function createStripePayments(settings: StripeSettings): PaymentProvider {
  const stripe = new Stripe(settings.secretKey)
  return {
    name: 'stripe',
    async createCheckout(request: CheckoutRequest) {
      const session = await stripe.checkout.sessions.create({
        mode: 'payment',
        client_reference_id: request.checkoutId,
        metadata: { checkout: request.checkoutId },
        payment_intent_data: { metadata: { checkout: request.checkoutId } },
        line_items: [
          {
            quantity: request.quantity,
            price_data: {
              currency: request.currency,
              unit_amount: request.unitAmount,
              product_data: { name: request.productName },
            },
          },
        ],
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
      })
      if (!session.url) throw new Error('Stripe returned a Checkout Session without a URL.')
      return { ref: session.id, url: session.url }
    },
    async readEvent(rawBody: Buffer, headers: IncomingHeaders): Promise<ProviderEvent> {
      const signature = headers['stripe-signature']
      if (typeof signature !== 'string')
        throw new SignatureError('Missing Stripe-Signature header.')
      let event: Stripe.Event
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, settings.webhookSecret)
      } catch (error) {
        throw new SignatureError(error instanceof Error ? error.message : 'Invalid signature.')
      }
      return readStripeEvent(event)
    },
    async refund(payment) {
      if (!payment.providerPayment) throw new Error('The checkout has no Stripe payment to refund.')
      await stripe.refunds.create({
        payment_intent: payment.providerPayment,
        metadata: { checkout: payment.checkoutId },
      })
      return undefined // Stripe reports the refund with a `refund.updated` event.
    },
  }
}

/** What a verified Stripe event means for a checkout. */
export function readStripeEvent(event: Stripe.Event): ProviderEvent {
  const base = { id: event.id }
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session = event.data.object
      // A completed session may still wait for an asynchronous method (a bank debit).
      if (session.payment_status !== 'paid')
        return { ...base, outcome: 'ignored', checkoutId: null }
      return {
        ...base,
        outcome: 'paid',
        checkoutId: session.client_reference_id,
        ...(typeof session.payment_intent === 'string' ? { payment: session.payment_intent } : {}),
        ...(session.amount_total === null ? {} : { amount: session.amount_total }),
      }
    }
    case 'checkout.session.async_payment_failed':
      return { ...base, outcome: 'failed', checkoutId: event.data.object.client_reference_id }
    case 'checkout.session.expired':
      return { ...base, outcome: 'canceled', checkoutId: event.data.object.client_reference_id }
    case 'refund.created':
    case 'refund.updated': {
      // Our refunds carry the checkout id in their metadata (set when we asked for them).
      const refund = event.data.object
      if (refund.status !== 'succeeded') return { ...base, outcome: 'ignored', checkoutId: null }
      return {
        ...base,
        outcome: 'refunded',
        checkoutId: refund.metadata?.checkout ?? null,
        amount: refund.amount,
      }
    }
    default:
      return { ...base, outcome: 'ignored', checkoutId: null }
  }
}
