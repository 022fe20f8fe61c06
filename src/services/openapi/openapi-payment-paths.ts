import { BEARER_AUTH, PROBLEM_RESPONSES, type ProblemStatus } from './openapi-components.js'
import type { JsonSchema, OpenApiObject } from './openapi-types.js'

/** The tag of the payment operations. */
export const PAYMENTS_TAG = 'Payments'

const text = { type: 'string' }
const SIGNED_IN = [{ [BEARER_AUTH]: [] }]
const ANYONE = [{}, { [BEARER_AUTH]: [] }]

const GRANT: JsonSchema = {
  description: 'Superusers only: what a paid checkout creates.',
  type: ['object', 'null'],
  properties: { collection: text, record: { type: 'object' } },
}
const PRODUCT: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'description', 'amount', 'currency', 'active', 'created', 'updated'],
  properties: {
    id: text,
    name: text,
    description: text,
    amount: { type: 'integer', description: "In the currency's minor unit (cents)." },
    currency: { type: 'string', pattern: '^[a-z]{3}$' },
    active: { type: 'boolean' },
    grant: GRANT,
    created: text,
    updated: text,
  },
}
const PRODUCT_INPUT: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: 'string', maxLength: 2000 },
    amount: { type: 'integer', minimum: 0, maximum: 100_000_000 },
    currency: { type: 'string', pattern: '^[A-Za-z]{3}$' },
    active: { type: 'boolean' },
    grant: GRANT,
  },
}
const CHECKOUT: JsonSchema = {
  type: 'object',
  required: ['id', 'product', 'quantity', 'amount', 'currency', 'status', 'created', 'updated'],
  properties: {
    id: text,
    product: text,
    quantity: { type: 'integer' },
    amount: { type: 'integer' },
    currency: text,
    status: { type: 'string', enum: ['open', 'paid', 'failed', 'canceled', 'refunded'] },
    created: text,
    updated: text,
  },
}
const LEDGER_ENTRY: JsonSchema = {
  type: 'object',
  required: ['id', 'checkout', 'product', 'kind', 'amount', 'currency', 'created'],
  properties: {
    id: text,
    checkout: text,
    product: text,
    kind: { type: 'string', enum: ['payment', 'refund'] },
    amount: { type: 'integer', description: 'Payments positive, refunds negative.' },
    currency: text,
    created: text,
  },
}

const json = (description: string, schema: JsonSchema): OpenApiObject => ({
  description,
  content: { 'application/json': { schema } },
})
const body = (schema: JsonSchema): OpenApiObject => ({
  required: true,
  content: { 'application/json': { schema } },
})
const problems = (statuses: readonly ProblemStatus[]): OpenApiObject =>
  Object.fromEntries(
    statuses.map((s) => [String(s), { $ref: `#/components/responses/${PROBLEM_RESPONSES[s]}` }]),
  )
const op = (
  operationId: string,
  summary: string,
  security: unknown[],
  responses: OpenApiObject,
  extra: OpenApiObject = {},
) => ({ operationId, tags: [PAYMENTS_TAG], summary, security, ...extra, responses })
const idParam = { name: 'id', in: 'path', required: true, schema: text }

/**
 * `/api/payments/*` when a payment provider is configured: the catalogue, checkouts and the
 * caller's ledger for everyone; product management and refunds only in a superuser's document.
 * The provider's webhook and the test provider's page are for the provider, not for clients.
 */
export function buildPaymentPaths(admin: boolean): Record<string, OpenApiObject> {
  const products: OpenApiObject = {
    get: op('listProducts', 'The products for sale', ANYONE, {
      200: json('The catalogue.', {
        type: 'object',
        properties: { items: { type: 'array', items: PRODUCT } },
      }),
    }),
  }
  if (admin) {
    products.post = op(
      'createProduct',
      'Add a product (superusers)',
      SIGNED_IN,
      { 201: json('The product.', PRODUCT), ...problems([400, 401, 403, 409]) },
      { requestBody: body(PRODUCT_INPUT) },
    )
  }
  const paths: Record<string, OpenApiObject> = {
    '/api/payments/products': products,
    '/api/payments/checkout': {
      post: op(
        'openCheckout',
        'Open a checkout of a product for the signed-in caller',
        SIGNED_IN,
        {
          201: json('Where to send the customer.', {
            type: 'object',
            required: ['id', 'url'],
            properties: { id: text, url: text },
          }),
          ...problems([400, 401, 403, 404]),
        },
        {
          requestBody: body({
            type: 'object',
            required: ['product'],
            properties: { product: text, quantity: { type: 'integer', minimum: 1, maximum: 100 } },
          }),
        },
      ),
    },
    '/api/payments/checkouts/{id}': {
      get: op(
        'getCheckout',
        "One of the caller's checkouts",
        SIGNED_IN,
        { 200: json('The checkout.', CHECKOUT), ...problems([401, 403, 404]) },
        { parameters: [idParam] },
      ),
    },
    '/api/payments/ledger': {
      get: op(
        'listLedger',
        "The caller's payments and refunds, newest first",
        SIGNED_IN,
        {
          200: json('A page of entries.', {
            type: 'object',
            properties: { items: { type: 'array', items: LEDGER_ENTRY }, next: text },
          }),
          ...problems([401, 403]),
        },
        {
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
            { name: 'before', in: 'query', schema: text },
          ],
        },
      ),
    },
  }
  if (admin) {
    paths['/api/payments/products/{id}'] = {
      patch: op(
        'updateProduct',
        'Change or deactivate a product (superusers)',
        SIGNED_IN,
        { 200: json('The product.', PRODUCT), ...problems([400, 401, 403, 404]) },
        { parameters: [idParam], requestBody: body(PRODUCT_INPUT) },
      ),
    }
    paths['/api/payments/refunds'] = {
      post: op(
        'refundCheckout',
        'Refund a paid checkout in full (superusers)',
        SIGNED_IN,
        { 200: json('The checkout.', CHECKOUT), ...problems([400, 401, 403, 404, 409]) },
        {
          requestBody: body({
            type: 'object',
            required: ['checkout'],
            properties: { checkout: text },
          }),
        },
      ),
    }
  }
  return paths
}
