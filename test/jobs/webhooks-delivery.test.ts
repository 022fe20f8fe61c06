/**
 * Webhooks end to end: record writes → outbox → delivery jobs → a real HTTP receiver on
 * loopback (allowed through the allow-list), verified with the `standardwebhooks` package;
 * retries with the same `webhook-id`, the delivery log, replay, secret rotation, automatic
 * disabling, and the SSRF guard (direct addresses, a name resolving to loopback, a redirect).
 */
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { cliContext } from '../../src/services/context.js'
import {
  createJobsEngine,
  queueVariants,
  waitFor,
  type JobsEngine,
} from '../helpers/jobs-engine.js'
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js'

const variants = await queueVariants()

async function withPosts(t: JobsEngine): Promise<void> {
  await t.engine.schema.createCollection(cliContext(t.engine.registry.get('_superusers')), {
    name: 'posts',
    type: 'base',
    fields: [{ name: 'title', type: 'text' }],
  })
}

async function createPost(t: JobsEngine, title: string): Promise<string> {
  const res = await t.call({
    method: 'POST',
    url: '/api/collections/posts/records',
    payload: { title },
  })
  expect(res.statusCode).toBe(201)
  return res.json().id as string
}

describe.each(variants)('webhooks on %s', (variant) => {
  let t: JobsEngine
  let receivers: Receiver[] = []
  afterEach(async () => {
    await t?.close()
    for (const r of receivers) await r.close()
    receivers = []
  })
  const receiver = async (host?: string) => {
    const r = await startReceiver(host)
    receivers.push(r)
    return r
  }

  it('a receiver failing twice gets the event on the third attempt, signed, with one webhook-id', async () => {
    t = await createJobsEngine(variant, {
      webhooks: { policy: { allowHosts: ['127.0.0.1'] }, backoffMs: 20, maxBackoffMs: 40 },
    })
    await withPosts(t)
    const sink = await receiver()
    sink.answer = (n) => ({ status: n < 2 ? 500 : 204 })
    const created = await t.call({
      method: 'POST',
      url: '/api/webhooks',
      payload: {
        url: `${sink.url}/hook`,
        collection: 'posts',
        actions: ['create'],
        filter: 'title != "skip"',
      },
    })
    expect(created.statusCode).toBe(201)
    const hook = created.json()
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/)
    t.engine.jobs.startWorkers(2)
    await createPost(t, 'skip')
    const id = await createPost(t, 'hello')
    await waitFor(() => sink.received.length >= 3, 15_000, 'three attempts')
    await new Promise((r) => setTimeout(r, 300))
    expect(sink.received).toHaveLength(3)
    const ids = new Set(sink.received.map((r) => r.headers['webhook-id']))
    expect(ids.size).toBe(1)
    const last = sink.received[2]!
    const verified = new Webhook(hook.secret as string).verify(
      last.body,
      last.headers as Record<string, string>,
    ) as { collection: string; action: string; record: { id: string; title: string } }
    expect(verified).toMatchObject({
      collection: 'posts',
      action: 'create',
      record: { id, title: 'hello' },
    })
    // A wrong secret does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(
        last.body,
        last.headers as Record<string, string>,
      ),
    ).toThrow()

    // The log: three attempts, newest first, with excerpts and timings, never the secret.
    const log = await t.call({ method: 'GET', url: `/api/webhooks/${hook.id}/deliveries` })
    expect(log.statusCode).toBe(200)
    const items = log.json().items as Array<Record<string, unknown>>
    expect(items.map((d) => [d.attempt, d.outcome, d.responseStatus])).toEqual([
      [3, 'delivered', 204],
      [2, 'failed', 500],
      [1, 'failed', 500],
    ])
    expect(items[1]!.response).toBe('failure 500')
    expect(typeof items[0]!.durationMs).toBe('number')
    expect(items[0]!.request).toContain('webhook-id: ')
    expect(log.body).not.toContain('webhook-signature')
    const metrics = (await t.call({ method: 'GET', url: '/metrics', anonymous: true })).body
    expect(metrics).toMatch(/^er_webhook_deliveries_total\{outcome="failed"\} 2$/m)
    expect(metrics).toMatch(/^er_webhook_deliveries_total\{outcome="delivered"\} 1$/m)
    expect(metrics).toMatch(
      /^er_webhook_delivery_duration_seconds_count\{outcome="delivered"\} 1$/m,
    )
    const shown = await t.call({ method: 'GET', url: `/api/webhooks/${hook.id}` })
    expect(shown.json().secret).toBeUndefined()
    expect(
      JSON.stringify(await t.call({ method: 'GET', url: '/api/webhooks' }).then((r) => r.json())),
    ).not.toContain(hook.secret)

    // Replay: the same message again, same webhook-id, a fresh signature.
    const replay = await t.call({
      method: 'POST',
      url: `/api/webhooks/${hook.id}/deliveries/${items[0]!.id as string}/replay`,
    })
    expect(replay.statusCode).toBe(202)
    await waitFor(() => sink.received.length === 4)
    const again = sink.received[3]!
    expect(again.headers['webhook-id']).toBe(last.headers['webhook-id'])
    expect(
      new Webhook(hook.secret as string).verify(
        again.body,
        again.headers as Record<string, string>,
      ),
    ).toMatchObject({
      record: { id },
    })
  })

  it('a rotated secret verifies with both until the old one is retired', async () => {
    t = await createJobsEngine(variant, { webhooks: { policy: { allowHosts: ['127.0.0.1'] } } })
    await withPosts(t)
    const sink = await receiver()
    const created = (
      await t.call({
        method: 'POST',
        url: '/api/webhooks',
        payload: { url: sink.url, collection: 'posts', actions: ['create', 'update'] },
      })
    ).json()
    const rotated = await t.call({
      method: 'PATCH',
      url: `/api/webhooks/${created.id}`,
      payload: { rotateSecret: true },
    })
    expect(rotated.statusCode).toBe(200)
    const fresh = rotated.json().secret as string
    expect(fresh).toMatch(/^whsec_/)
    expect(fresh).not.toBe(created.secret)
    expect(rotated.json().previousSecretExpires).toEqual(expect.any(String))
    t.engine.jobs.startWorkers(1)
    await createPost(t, 'during rotation')
    await waitFor(() => sink.received.length === 1)
    const during = sink.received[0]!
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2)
    for (const secret of [created.secret as string, fresh]) {
      expect(
        new Webhook(secret).verify(during.body, during.headers as Record<string, string>),
      ).toBeTruthy()
    }
    const retired = await t.call({
      method: 'PATCH',
      url: `/api/webhooks/${created.id}`,
      payload: { retirePreviousSecret: true },
    })
    expect(retired.json().previousSecretExpires).toBeNull()
    expect(retired.json().secret).toBeUndefined()
    await createPost(t, 'after rotation')
    await waitFor(() => sink.received.length === 2)
    const after = sink.received[1]!
    expect(
      new Webhook(fresh).verify(after.body, after.headers as Record<string, string>),
    ).toBeTruthy()
    expect(() =>
      new Webhook(created.secret as string).verify(
        after.body,
        after.headers as Record<string, string>,
      ),
    ).toThrow()
  })

  it('persistent failure disables the webhook, visible in the API; enabling it again clears that', async () => {
    t = await createJobsEngine(variant, {
      webhooks: {
        policy: { allowHosts: ['127.0.0.1'] },
        attempts: 2,
        backoffMs: 10,
        maxBackoffMs: 20,
        disableAfter: 2,
      },
    })
    await withPosts(t)
    const sink = await receiver()
    sink.answer = () => ({ status: 503 })
    const hook = (
      await t.call({
        method: 'POST',
        url: '/api/webhooks',
        payload: { url: sink.url, collection: 'posts', actions: ['create'] },
      })
    ).json()
    t.engine.jobs.startWorkers(2)
    await createPost(t, 'one')
    await createPost(t, 'two')
    const disabled = await waitFor(async () => {
      const res = (await t.call({ method: 'GET', url: `/api/webhooks/${hook.id}` })).json()
      return res.enabled === false ? res : undefined
    })
    expect(disabled.disabledReason).toMatch(/disabled after 2 messages failed every attempt/)
    expect(disabled.disabledAt).toEqual(expect.any(String))
    const attempts = sink.received.length
    expect(attempts).toBe(4)
    await createPost(t, 'three')
    await new Promise((r) => setTimeout(r, 500))
    expect(sink.received.length).toBe(attempts)
    const enabled = await t.call({
      method: 'PATCH',
      url: `/api/webhooks/${hook.id}`,
      payload: { enabled: true },
    })
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null, failures: 0 })
  })
})

describe.each(variants.filter((v) => v !== 'bullmq'))('webhook address guard on %s', (variant) => {
  let t: JobsEngine
  const receivers: Receiver[] = []
  afterEach(async () => {
    await t?.close()
    for (const r of receivers.splice(0)) await r.close()
  })

  it('refuses loopback, private, link-local and metadata addresses, by name too; not for strangers', async () => {
    t = await createJobsEngine(variant, { webhooks: { policy: { allowHosts: [] } } })
    await withPosts(t)
    for (const url of [
      'http://127.0.0.1:9/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/',
      'http://192.168.0.10/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost:9/',
      'http://0.0.0.0/',
    ]) {
      const res = await t.call({
        method: 'POST',
        url: '/api/webhooks',
        payload: { url, collection: 'posts', actions: ['create'] },
      })
      expect(res.statusCode, url).toBe(400)
      expect(res.json().errors.url[0].code, url).toBe('refused')
    }
    const ftp = await t.call({
      method: 'POST',
      url: '/api/webhooks',
      payload: { url: 'ftp://example.com/', collection: 'posts', actions: ['create'] },
    })
    expect(ftp.statusCode).toBe(400)
    const badFilter = await t.call({
      method: 'POST',
      url: '/api/webhooks',
      payload: {
        url: 'https://example.com/',
        collection: 'posts',
        actions: ['create'],
        filter: 'nope = 1',
      },
    })
    expect(badFilter.statusCode).toBe(400)
    expect(
      (await t.call({ method: 'GET', url: '/api/webhooks', anonymous: true })).statusCode,
    ).toBe(401)
    expect((await t.call({ method: 'GET', url: '/api/jobs', anonymous: true })).statusCode).toBe(
      401,
    )
    const list = await t.call({ method: 'GET', url: '/api/webhooks' })
    expect(list.json().items).toEqual([])
  })

  it('a redirect from an allowed host to loopback is refused, and nothing reaches loopback', async () => {
    t = await createJobsEngine(variant, {
      webhooks: { policy: { allowHosts: ['127.0.0.2'] }, attempts: 1 },
    })
    await withPosts(t)
    const inside = await startReceiver('127.0.0.1')
    receivers.push(inside)
    const redirector = await startReceiver('127.0.0.2')
    receivers.push(redirector)
    redirector.answer = () => ({ status: 307, headers: { location: `${inside.url}/internal` } })
    const hook = (
      await t.call({
        method: 'POST',
        url: '/api/webhooks',
        payload: { url: redirector.url, collection: 'posts', actions: ['create'] },
      })
    ).json()
    expect(hook.id).toEqual(expect.any(String))
    t.engine.jobs.startWorkers(1)
    await createPost(t, 'x')
    const log = await waitFor(async () => {
      const items = (
        await t.call({ method: 'GET', url: `/api/webhooks/${hook.id}/deliveries` })
      ).json().items as Array<{ outcome: string; error: string }>
      return items.length > 0 ? items : undefined
    })
    expect(log[0]).toMatchObject({ outcome: 'refused' })
    expect(log[0]!.error).toMatch(/127\.0\.0\.1/)
    expect(redirector.received).toHaveLength(1)
    expect(inside.received).toHaveLength(0)
  })
})
