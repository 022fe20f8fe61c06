/**
 * The payment provider port: it opens a hosted checkout, reads the provider's signed events,
 * and asks for refunds. Money is only ever recorded from a verified event, never from a
 * browser's redirect.
 */

/** What the customer is asked to pay for. Amounts are in the currency's minor unit. */
export interface CheckoutRequest {
  /** Our checkout id; the provider echoes it in its events. */
  checkoutId: string
  productName: string
  unitAmount: number
  quantity: number
  currency: string
  successUrl: string
  cancelUrl: string
}

/** A hosted checkout: where to send the customer. */
export interface ProviderCheckout {
  ref: string
  url: string
}

/** What an event means for a checkout; `ignored` for event types that mean nothing here. */
export type EventOutcome = 'paid' | 'failed' | 'canceled' | 'refunded' | 'ignored'

/** A provider event, verified and read. */
export interface ProviderEvent {
  id: string
  outcome: EventOutcome
  checkoutId: string | null
  /** The provider's id of the payment (paid events), for refunds. */
  payment?: string
  /** The amount the event says was paid or refunded, when it says one. */
  amount?: number
}

/** A signed webhook delivery, as a provider would POST it. */
export interface SignedDelivery {
  body: string
  headers: Record<string, string>
}

export type IncomingHeaders = Record<string, string | string[] | undefined>

export interface PaymentProvider {
  readonly name: 'test' | 'stripe'
  createCheckout(request: CheckoutRequest): Promise<ProviderCheckout>
  /** Verifies the signature over the raw body, then reads it; throws `SignatureError` if bad. */
  readEvent(rawBody: Buffer, headers: IncomingHeaders): Promise<ProviderEvent>
  /**
   * Asks for the payment to be refunded. A provider that answers at once (the test provider)
   * returns its signed event for delivery; others send theirs to the webhook later.
   */
  refund(payment: {
    checkoutId: string
    providerPayment: string | null
    amount: number
  }): Promise<SignedDelivery | undefined>
}

/** A webhook whose signature does not verify (or is missing, stale or malformed). */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SignatureError'
  }
}
