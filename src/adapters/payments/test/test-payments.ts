import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  SignatureError,
  type CheckoutRequest,
  type EventOutcome,
  type IncomingHeaders,
  type PaymentProvider,
  type ProviderEvent,
  type SignedDelivery,
} from '../payments.js'

/** The test provider's signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export const TEST_SIGNATURE_HEADER = 'engineroom-test-signature'
/** Events older or newer than this are refused (a replayed capture is useless after it). */
const TOLERANCE_SECONDS = 300

type TestEventType = 'checkout.paid' | 'checkout.failed' | 'checkout.canceled' | 'refund.succeeded'
const OUTCOMES: Record<TestEventType, EventOutcome> = {
  'checkout.paid': 'paid',
  'checkout.failed': 'failed',
  'checkout.canceled': 'canceled',
  'refund.succeeded': 'refunded',
}

export interface TestPayments extends PaymentProvider {
  readonly name: 'test'
  /** Plays the customer's choice as the provider would report it: a signed event to deliver. */
  sign(
    type: TestEventType,
    fields: { checkout: string; amount: number; payment?: string },
  ): SignedDelivery
}

/**
 * A deterministic provider for development, demos and tests: its checkout page is served by
 * Engine Room itself (`/api/payments/test/{id}`), where the customer picks pay, fail or cancel;
 * the choice comes back as an event signed like a real provider's, through the same webhook.
 * Never for production (config refuses it when NODE_ENV=production): anyone may "pay".
 */
export function createTestPayments(options: {
  secret: string
  publicUrl: () => string
}): TestPayments {
  const { secret } = options
  const signature = (timestamp: string, body: string) =>
    createHmac('sha256', secret).update(`${timestamp}.${body}`).digest()

  const sign: TestPayments['sign'] = (type, fields) => {
    const event = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      type,
      checkout: fields.checkout,
      amount: fields.amount,
      payment: fields.payment ?? `pay_${fields.checkout}`,
      created: Math.floor(Date.now() / 1000),
    }
    const body = JSON.stringify(event)
    const timestamp = String(event.created)
    return {
      body,
      headers: {
        'content-type': 'application/json',
        [TEST_SIGNATURE_HEADER]: `t=${timestamp},v1=${signature(timestamp, body).toString('hex')}`,
      },
    }
  }

  return {
    name: 'test',
    sign,
    async createCheckout(request: CheckoutRequest) {
      return {
        ref: `test_${request.checkoutId}`,
        url: `${options.publicUrl()}/api/payments/test/${encodeURIComponent(request.checkoutId)}`,
      }
    },
    async readEvent(rawBody: Buffer, headers: IncomingHeaders): Promise<ProviderEvent> {
      const header = headers[TEST_SIGNATURE_HEADER]
      const match =
        typeof header === 'string' ? /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header) : null
      if (!match) throw new SignatureError(`Missing or malformed ${TEST_SIGNATURE_HEADER} header.`)
      const [, timestamp = '', hex = ''] = match
      const expected = signature(timestamp, rawBody.toString('utf8'))
      if (!timingSafeEqual(expected, Buffer.from(hex, 'hex'))) {
        throw new SignatureError('The signature does not match the body.')
      }
      if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
        throw new SignatureError('The signature is too old (or from the future).')
      }
      const event = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>
      const type = event.type as TestEventType
      return {
        id: String(event.id),
        outcome: OUTCOMES[type] ?? 'ignored',
        checkoutId: typeof event.checkout === 'string' ? event.checkout : null,
        ...(typeof event.payment === 'string' ? { payment: event.payment } : {}),
        ...(typeof event.amount === 'number' ? { amount: event.amount } : {}),
      }
    },
    async refund(payment) {
      return sign('refund.succeeded', {
        checkout: payment.checkoutId,
        amount: payment.amount,
        ...(payment.providerPayment ? { payment: payment.providerPayment } : {}),
      })
    },
  }
}
