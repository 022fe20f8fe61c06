import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { PaymentsService } from '../../services/payments/payments-service.js'
import type { ProductInput } from '../../services/payments/payment-products.js'
import { contextOf } from '../plugins/request-context.js'
import { testCheckoutPage } from './payments-test-page.js'

/** Webhook bodies are read raw (signatures cover the exact bytes); providers send small events. */
const WEBHOOK_BODY_LIMIT = 256 * 1024

/**
 * `/api/payments/*`: the public catalogue, checkouts, the caller's ledger, refunds, the
 * providers' webhooks, and (with the test provider) its checkout page.
 */
export const paymentsRoutes: FastifyPluginAsync<{
  payments: PaymentsService
  auth: AuthService
}> = async (app, { payments, auth }) => {
  app.get<{ Querystring: { all?: string } }>('/api/payments/products', async (request) => ({
    items: await payments.listProducts(
      await contextOf(request, auth),
      request.query.all === 'true',
    ),
  }))

  app.post('/api/payments/products', async (request, reply) => {
    const ctx = await contextOf(request, auth)
    const product = await payments.createProduct(ctx, request.body as ProductInput)
    return reply.status(201).send(product)
  })

  app.patch<{ Params: { id: string } }>('/api/payments/products/:id', async (request) =>
    payments.updateProduct(
      await contextOf(request, auth),
      request.params.id,
      request.body as ProductInput,
    ),
  )

  app.post('/api/payments/checkout', async (request, reply) => {
    const ctx = await contextOf(request, auth)
    return reply.status(201).send(await payments.checkout(ctx, request.body))
  })

  app.get<{ Params: { id: string } }>('/api/payments/checkouts/:id', async (request) =>
    payments.viewCheckout(await contextOf(request, auth), request.params.id),
  )

  app.get<{ Querystring: { limit?: string; before?: string; all?: string } }>(
    '/api/payments/ledger',
    async (request) => payments.ledger(await contextOf(request, auth), request.query),
  )

  app.post('/api/payments/refunds', async (request) =>
    payments.refund(await contextOf(request, auth), request.body),
  )

  // Webhooks: the signature is over the exact bytes sent, so this scope reads every body raw.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers()
    raw.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    )
    raw.post<{ Params: { provider: string } }>(
      '/api/payments/webhooks/:provider',
      // A provider retries on its own schedule; a kept answer would hide a fixed failure.
      { config: { idempotency: false } },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        return payments.receive(request.params.provider, body, request.headers)
      },
    )
  })

  if (payments.providerName === 'test') {
    app.get<{ Params: { id: string } }>('/api/payments/test/:id', async (request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header(
          'content-security-policy',
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'",
        )
        .send(testCheckoutPage(request.params.id)),
    )
    app.post<{ Params: { id: string }; Body: { outcome?: unknown } }>(
      '/api/payments/test/:id/complete',
      async (request) => payments.playTestCheckout(request.params.id, request.body?.outcome),
    )
  }
}
