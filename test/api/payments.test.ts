/**
 * Payments (README, "Payments"): a catalogue, checkouts through the test provider, a ledger and
 * grants written only from verified provider events, each applied exactly once in whatever order
 * and however often it arrives; Stripe's signatures verified with the `stripe` package's own
 * test helper.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStripePayments } from '../../src/adapters/payments/stripe/stripe-payments.js'
import {
  createTestPayments,
  TEST_SIGNATURE_HEADER,
} from '../../src/adapters/payments/test/test-payments.js'
import { createCollection, createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()
const SECRET = 'test-provider-secret-for-this-suite'
const publicUrl = () => 'http://127.0.0.1:8090'

async function defineShop(t: TestEngine): Promise<void> {
  await createCollection(t, {
    name: 'users',
    type: 'auth',
    fields: [],
    rules: { list: null, view: 'id = @request.auth.id', create: '', update: null, delete: null },
  })
  await createCollection(t, {
    name: 'classes',
    fields: [{ name: 'title', type: 'text' }],
    rules: { list: '', view: '', create: null, update: null, delete: null },
  })
  await createCollection(t, {
    name: 'enrolments',
    fields: [
      { name: 'user', type: 'relation', collection: 'users', required: true },
      { name: 'class', type: 'relation', collection: 'classes', required: true },
      { name: 'checkout', type: 'text', unique: true },
    ],
    // Only payments (acting as the system) create enrolments; each user sees their own.
    rules: {
      list: 'user = @request.auth.id',
      view: 'user = @request.auth.id',
      create: null,
      update: null,
      delete: null,
    },
  })
  await createRecord(t, 'classes', { id: 'crust101', title: 'Rust 101' })
  const product = await t.call({
    method: 'POST',
    url: '/api/payments/products',
    payload: {
      id: 'rust-101',
      name: 'Rust 101 bootcamp seat',
      amount: 4900,
      currency: 'EUR',
      grant: {
        collection: 'enrolments',
        record: { user: '@payer', class: 'crust101', checkout: '@checkout' },
      },
    },
  })
  expect(product.statusCode, product.body).toBe(201)
}

async function signUpAndIn(t: TestEngine, id: string): Promise<string> {
  await createRecord(t, 'users', { id, email: `${id}@example.com`, password: 'long password 1' })
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/collections/users/auth/password',
    payload: { identity: `${id}@example.com`, password: 'long password 1' },
  })
  return (res.json() as { token: string }).token
}

describe.each(dialects)('payments with the test provider on %s', (dialect) => {
  let t: TestEngine
  let ann: string
  let bob: string
  const provider = createTestPayments({ secret: SECRET, publicUrl })
  const as = (token: string | undefined, method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
  const deliver = (delivery: { body: string; headers: Record<string, string> }) =>
    t.app.inject({
      method: 'POST',
      url: '/api/payments/webhooks/test',
      payload: delivery.body,
      headers: delivery.headers,
    })
  const enrolmentsOf = async (user: string) =>
    (
      (
        await t.call({
          method: 'GET',
          url: `/api/collections/enrolments/records?filter=${encodeURIComponent(`user = "${user}"`)}`,
        })
      ).json() as { items: { checkout: string }[] }
    ).items
  const openCheckout = async (token: string) => {
    const res = await as(token, 'POST', '/api/payments/checkout', { product: 'rust-101' })
    expect(res.statusCode, res.body).toBe(201)
    return res.json() as { id: string; url: string }
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, { engine: { payments: { provider } } })
    await defineShop(t)
    ann = await signUpAndIn(t, 'uann')
    bob = await signUpAndIn(t, 'ubob')
  })
  afterAll(() => t?.close())

  it('shows the catalogue to anyone, and its grants and inactive products only to superusers', async () => {
    const anonymous = (await as(undefined, 'GET', '/api/payments/products')).json() as {
      items: Record<string, unknown>[]
    }
    expect(anonymous.items).toHaveLength(1)
    expect(anonymous.items[0]).toMatchObject({ id: 'rust-101', amount: 4900, currency: 'eur' })
    expect(anonymous.items[0]).not.toHaveProperty('grant')
    const hidden = await t.call({
      method: 'POST',
      url: '/api/payments/products',
      payload: { id: 'old', name: 'Retired', amount: 100, currency: 'eur', active: false },
    })
    expect(hidden.statusCode).toBe(201)
    expect(
      ((await as(ann, 'GET', '/api/payments/products?all=true')).json() as { items: unknown[] })
        .items,
    ).toHaveLength(1)
    const admin = (await t.call({ method: 'GET', url: '/api/payments/products?all=true' })).json()
    expect((admin as { items: { grant?: unknown }[] }).items).toHaveLength(2)
    expect(JSON.stringify(admin)).toContain('@payer')
  })

  it('lets only superusers manage products, and names every bad field', async () => {
    expectProblem(
      await as(ann, 'POST', '/api/payments/products', { name: 'x', amount: 1, currency: 'eur' }),
      403,
      'ER_FORBIDDEN',
    )
    const bad = await t.call({
      method: 'POST',
      url: '/api/payments/products',
      payload: {
        name: '',
        amount: -5,
        currency: 'EURO',
        grant: { collection: 'nope', record: { user: { nested: true } } },
      },
    })
    const problem = expectProblem(bad, 400, 'ER_VALIDATION_FAILED')
    expect(Object.keys(problem.errors ?? {}).sort()).toEqual(
      ['amount', 'currency', 'grant.collection', 'grant.record.user', 'name'].sort(),
    )
    const products = (
      await t.call({ method: 'GET', url: '/api/payments/products?all=true' })
    ).json() as { items: unknown[] }
    expect(products.items).toHaveLength(2)
  })

  it('opens checkouts only for signed-in callers and products for sale', async () => {
    expectProblem(
      await as(undefined, 'POST', '/api/payments/checkout', { product: 'rust-101' }),
      401,
      'ER_AUTH_REQUIRED',
    )
    expectProblem(
      await as(ann, 'POST', '/api/payments/checkout', { product: 'old' }),
      404,
      'ER_PAYMENT_PRODUCT_UNKNOWN',
    )
    const bad = await as(ann, 'POST', '/api/payments/checkout', {
      product: 'rust-101',
      quantity: 0,
    })
    expect(Object.keys(expectProblem(bad, 400, 'ER_VALIDATION_FAILED').errors ?? {})).toEqual([
      'quantity',
    ])
    const opened = await openCheckout(ann)
    expect(opened.url).toBe(`http://127.0.0.1:8090/api/payments/test/${opened.id}`)
    const view = await as(ann, 'GET', `/api/payments/checkouts/${opened.id}`)
    expect(view.json()).toMatchObject({ status: 'open', amount: 4900, product: 'rust-101' })
    expectProblem(
      await as(bob, 'GET', `/api/payments/checkouts/${opened.id}`),
      404,
      'ER_PAYMENT_CHECKOUT_UNKNOWN',
    )
  })

  it('enrols once however often and in whatever order the provider delivers', async () => {
    const { id } = await openCheckout(ann)
    // A cancel that the provider delivers late (after the customer paid) changes nothing.
    const cancel = provider.sign('checkout.canceled', { checkout: id, amount: 4900 })
    const paid = await as(undefined, 'POST', `/api/payments/test/${id}/complete`, {
      outcome: 'paid',
    })
    expect(paid.statusCode, paid.body).toBe(200)
    const { delivery } = paid.json() as {
      delivery: { body: string; headers: Record<string, string> }
    }
    const repeats = await Promise.all([deliver(delivery), deliver(delivery), deliver(delivery)])
    for (const res of repeats) {
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toEqual({ received: true, applied: false })
    }
    expect((await deliver(cancel)).statusCode).toBe(200)
    const view = await as(ann, 'GET', `/api/payments/checkouts/${id}`)
    expect((view.json() as { status: string }).status).toBe('paid')
    expect((await enrolmentsOf('uann')).filter((e) => e.checkout === id)).toHaveLength(1)
    const ledger = (await as(ann, 'GET', '/api/payments/ledger')).json() as {
      items: { checkout: string; kind: string; amount: number }[]
    }
    expect(ledger.items.filter((e) => e.checkout === id)).toEqual([
      expect.objectContaining({ kind: 'payment', amount: 4900 }),
    ])
    // Bob sees neither Ann's ledger nor her enrolment.
    expect(((await as(bob, 'GET', '/api/payments/ledger')).json() as { items: [] }).items).toEqual(
      [],
    )
    const bobsView = await as(bob, 'GET', '/api/collections/enrolments/records')
    expect((bobsView.json() as { items: [] }).items).toEqual([])
  })

  it('pays even when a cancel arrived first, and holds a refund that comes before its payment', async () => {
    const { id } = await openCheckout(bob)
    expect(
      (await deliver(provider.sign('checkout.canceled', { checkout: id, amount: 4900 })))
        .statusCode,
    ).toBe(200)
    const refund = provider.sign('refund.succeeded', { checkout: id, amount: 4900 })
    expectProblem(await deliver(refund), 409, 'ER_PAYMENT_EVENT_EARLY')
    const paid = provider.sign('checkout.paid', { checkout: id, amount: 4900 })
    expect((await deliver(paid)).json()).toEqual({ received: true, applied: true })
    expect((await enrolmentsOf('ubob')).filter((e) => e.checkout === id)).toHaveLength(1)
    // The provider delivers the refund again; now it applies, once.
    expect((await deliver(refund)).json()).toEqual({ received: true, applied: true })
    expect((await deliver(refund)).json()).toEqual({ received: true, applied: false })
    const ledger = (await as(bob, 'GET', '/api/payments/ledger')).json() as {
      items: { checkout: string; kind: string; amount: number }[]
    }
    expect(
      ledger.items
        .filter((e) => e.checkout === id)
        .map((e) => e.amount)
        .sort(),
    ).toEqual([-4900, 4900])
  })

  it('refuses tampered, unsigned, stale and inconsistent webhooks and changes nothing', async () => {
    const { id } = await openCheckout(ann)
    const genuine = provider.sign('checkout.paid', { checkout: id, amount: 4900 })
    const tampered = { ...genuine, body: genuine.body.replace('4900', '1') }
    expectProblem(await deliver(tampered), 400, 'ER_PAYMENT_SIGNATURE_INVALID')
    expectProblem(
      await deliver({ body: genuine.body, headers: { 'content-type': 'application/json' } }),
      400,
      'ER_PAYMENT_SIGNATURE_INVALID',
    )
    const otherSecret = createTestPayments({ secret: 'another secret', publicUrl })
    expectProblem(
      await deliver(otherSecret.sign('checkout.paid', { checkout: id, amount: 4900 })),
      400,
      'ER_PAYMENT_SIGNATURE_INVALID',
    )
    const header = genuine.headers[TEST_SIGNATURE_HEADER] as string
    const stale = header.replace(/t=\d+/, `t=${Math.floor(Date.now() / 1000) - 3600}`)
    expectProblem(
      await deliver({
        ...genuine,
        headers: { ...genuine.headers, [TEST_SIGNATURE_HEADER]: stale },
      }),
      400,
      'ER_PAYMENT_SIGNATURE_INVALID',
    )
    const wrongAmount = provider.sign('checkout.paid', { checkout: id, amount: 1 })
    expectProblem(await deliver(wrongAmount), 400, 'ER_PAYMENT_EVENT_INVALID')
    const view = await as(ann, 'GET', `/api/payments/checkouts/${id}`)
    expect((view.json() as { status: string }).status).toBe('open')
    expect((await enrolmentsOf('uann')).filter((e) => e.checkout === id)).toHaveLength(0)
    // The genuine event still applies afterwards: a refusal noted nothing.
    expect((await deliver(genuine)).json()).toEqual({ received: true, applied: true })
  })

  it('lets superusers refund a paid checkout once', async () => {
    const { id } = await openCheckout(ann)
    await as(undefined, 'POST', `/api/payments/test/${id}/complete`, { outcome: 'paid' })
    expectProblem(
      await as(ann, 'POST', '/api/payments/refunds', { checkout: id }),
      403,
      'ER_FORBIDDEN',
    )
    const refunded = await t.call({
      method: 'POST',
      url: '/api/payments/refunds',
      payload: { checkout: id },
    })
    expect(refunded.statusCode, refunded.body).toBe(200)
    expect((refunded.json() as { status: string }).status).toBe('refunded')
    expectProblem(
      await t.call({ method: 'POST', url: '/api/payments/refunds', payload: { checkout: id } }),
      409,
      'ER_PAYMENT_NOT_REFUNDABLE',
    )
  })

  it('fails and cancels checkouts without a grant or a ledger entry', async () => {
    for (const outcome of ['failed', 'canceled']) {
      const { id } = await openCheckout(bob)
      const res = await as(undefined, 'POST', `/api/payments/test/${id}/complete`, { outcome })
      expect((res.json() as { checkout: { status: string } }).checkout.status).toBe(outcome)
      expect((await enrolmentsOf('ubob')).filter((e) => e.checkout === id)).toHaveLength(0)
    }
    expectProblem(
      await as(undefined, 'POST', '/api/payments/test/nope/complete', { outcome: 'paid' }),
      404,
      'ER_PAYMENT_CHECKOUT_UNKNOWN',
    )
    expectProblem(
      await as(undefined, 'POST', '/api/payments/test/nope/complete', { outcome: 'stolen' }),
      400,
      'ER_VALIDATION_FAILED',
    )
  })

  it('serves the test checkout page with the id as text, never as markup', async () => {
    const res = await as(undefined, 'GET', '/api/payments/test/%3C%2Fscript%3E%3Cb%3E')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.body).not.toContain('</script><b>')
  })

  it('describes its routes in the OpenAPI document, management only to superusers', async () => {
    type Doc = { paths: Record<string, Record<string, { operationId?: string }>> }
    const ops = (doc: Doc) =>
      Object.values(doc.paths).flatMap((item) => Object.values(item).map((o) => o.operationId))
    const anonymous = (await as(undefined, 'GET', '/api/openapi.json')).json() as Doc
    const root = (await t.call({ method: 'GET', url: '/api/openapi.json' })).json() as Doc
    for (const doc of [anonymous, root]) {
      expect(await new Validator().validate(doc)).toMatchObject({ valid: true })
      expect(ops(doc)).toEqual(
        expect.arrayContaining(['listProducts', 'openCheckout', 'listLedger']),
      )
    }
    expect(ops(anonymous)).not.toContain('createProduct')
    expect(ops(anonymous)).not.toContain('refundCheckout')
    expect(ops(root)).toEqual(
      expect.arrayContaining(['createProduct', 'updateProduct', 'refundCheckout']),
    )
  })

  it('an idempotent checkout repeated opens one checkout', async () => {
    const post = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/payments/checkout',
        payload: { product: 'rust-101' },
        headers: { authorization: `Bearer ${ann}`, 'idempotency-key': 'checkout-once' },
      })
    const first = await post()
    const second = await post()
    expect(second.headers['idempotent-replayed']).toBe('true')
    expect((second.json() as { id: string }).id).toBe((first.json() as { id: string }).id)
  })
})

describe.each(dialects)('payments with Stripe on %s', (dialect) => {
  const webhookSecret = 'whsec_engineroom_suite_secret'
  const stripe = createStripePayments({ secretKey: 'sk_test_offline', webhookSecret })
  let t: TestEngine

  beforeAll(async () => {
    t = await createTestEngine(dialect, { engine: { payments: { provider: stripe } } })
    await defineShop(t)
    await signUpAndIn(t, 'uann')
  })
  afterAll(() => t?.close())

  /** An event as Stripe sends it, signed with the stripe package's own test helper. */
  const signedEvent = (type: string, object: Record<string, unknown>) => {
    const payload = JSON.stringify({
      id: `evt_${Math.random().toString(36).slice(2)}`,
      object: 'event',
      type,
      data: { object },
    })
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret })
    return { payload, header }
  }

  it('verifies Stripe-signed events and enrols once; refuses a forged signature', async () => {
    // The checkout Stripe would have opened (Stripe's API is not reachable from tests).
    const at = new Date().toISOString()
    const users = t.engine.registry.get('users')
    await t.engine.store.payments.insertCheckout({
      id: 'chk_stripe_1',
      provider: 'stripe',
      providerRef: 'cs_test_1',
      providerPayment: null,
      userCollection: users.id,
      userId: 'uann',
      productId: 'rust-101',
      quantity: 1,
      amount: 4900,
      currency: 'eur',
      status: 'open',
      created: at,
      updated: at,
    })
    const session = {
      object: 'checkout.session',
      id: 'cs_test_1',
      client_reference_id: 'chk_stripe_1',
      payment_status: 'paid',
      payment_intent: 'pi_123',
      amount_total: 4900,
    }
    const { payload, header } = signedEvent('checkout.session.completed', session)
    const send = (body: string, signature: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/payments/webhooks/stripe',
        payload: body,
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      })
    const forged = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' })
    expectProblem(await send(payload, forged), 400, 'ER_PAYMENT_SIGNATURE_INVALID')
    expectProblem(
      await send(payload.replace('4900', '49'), header),
      400,
      'ER_PAYMENT_SIGNATURE_INVALID',
    )
    expect((await send(payload, header)).json()).toEqual({ received: true, applied: true })
    expect((await send(payload, header)).json()).toEqual({ received: true, applied: false })
    const checkout = await t.engine.store.payments.getCheckout('chk_stripe_1')
    expect(checkout).toMatchObject({ status: 'paid', providerPayment: 'pi_123' })
    const enrolments = await t.call({ method: 'GET', url: '/api/collections/enrolments/records' })
    expect(
      (enrolments.json() as { items: { checkout: string }[] }).items.map((e) => e.checkout),
    ).toEqual(['chk_stripe_1'])
    // The test provider's route does not exist beside Stripe.
    expect((await t.app.inject({ method: 'GET', url: '/api/payments/test/x' })).statusCode).toBe(
      404,
    )
  })

  it('reads unpaid completions and unknown types as nothing to do', async () => {
    const pending = signedEvent('checkout.session.completed', {
      object: 'checkout.session',
      client_reference_id: 'chk_stripe_1',
      payment_status: 'unpaid',
    })
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/payments/webhooks/stripe',
      payload: pending.payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': pending.header },
    })
    expect(res.json()).toEqual({ received: true, applied: true })
    const other = signedEvent('customer.created', { object: 'customer', id: 'cus_1' })
    const res2 = await t.app.inject({
      method: 'POST',
      url: '/api/payments/webhooks/stripe',
      payload: other.payload,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': other.header,
      },
    })
    expect(res2.statusCode, res2.body).toBe(200)
  })
})
