/**
 * The webhook feeder costs a write nothing while no webhook exists (no outbox read, no webhook
 * query per commit), and still misses nothing once one does: a webhook made on this node is fed
 * at once, one made on another node is fed by that node from the shared cursor, and the writes
 * made before any webhook existed are never delivered.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cliContext } from '../../src/services/context.js'
import {
  createJobsEngine,
  queueVariants,
  waitFor,
  type JobsEngine,
} from '../helpers/jobs-engine.js'
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js'

const variants = (await queueVariants()).filter((v) => v !== 'bullmq')

describe.each(variants)('the idle webhook feeder on %s', (variant) => {
  let t: JobsEngine
  let sink: Receiver | undefined
  afterEach(async () => {
    await t?.close()
    await sink?.close()
  })

  async function post(title: string): Promise<string> {
    const res = await t.call({
      method: 'POST',
      url: '/api/collections/posts/records',
      payload: { title },
    })
    expect(res.statusCode).toBe(201)
    return res.json().id as string
  }

  it('no webhook query per write while none exists; a new one here is fed at once', async () => {
    // A poll far away: only the first look and this node's own changes can wake the feeder.
    t = await createJobsEngine(variant, {
      webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 600_000 },
    })
    await t.engine.schema.createCollection(cliContext(t.engine.registry.get('_superusers')), {
      name: 'posts',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
    })
    await new Promise((r) => setTimeout(r, 200)) // the first look has run
    const looks = vi.spyOn(t.engine.store.webhooks, 'listWebhooks')
    for (let i = 0; i < 20; i++) await post(`before ${i}`)
    await new Promise((r) => setTimeout(r, 200))
    expect(looks).not.toHaveBeenCalled()

    sink = await startReceiver()
    const made = await t.call({
      method: 'POST',
      url: '/api/webhooks',
      payload: { url: `${sink.url}/hook`, collection: 'posts', actions: ['create'] },
    })
    expect(made.statusCode).toBe(201)
    t.engine.jobs.startWorkers(1)
    const id = await post('after')
    await waitFor(() => sink!.received.length >= 1, 15_000, 'the delivery')
    await new Promise((r) => setTimeout(r, 300))
    expect(sink.received.map((r) => JSON.parse(r.body).record.id)).toEqual([id])
  })

  it('a webhook made on another node gets this node’s writes, once each', async () => {
    t = await createJobsEngine(variant, {
      webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 600_000 },
    })
    const superuser = () => cliContext(t.engine.registry.get('_superusers'))
    await t.engine.schema.createCollection(superuser(), {
      name: 'posts',
      type: 'base',
      fields: [{ name: 'title', type: 'text' }],
    })
    await post('history')
    const other = await t.another({
      webhooks: { policy: { allowHosts: ['127.0.0.1'] }, pollMs: 200 },
    })
    sink = await startReceiver()
    // Made through the other node, which this node (polling every ten minutes) does not see.
    await other.webhooks.create(cliContext(other.registry.get('_superusers')), {
      url: `${sink.url}/hook`,
      collection: 'posts',
      actions: ['create'],
    })
    t.engine.jobs.startWorkers(1)
    const ids = [await post('one'), await post('two')]
    await waitFor(() => sink!.received.length >= 2, 15_000, 'two deliveries')
    await new Promise((r) => setTimeout(r, 600)) // more polls of the other node: nothing new
    expect(sink.received.map((r) => JSON.parse(r.body).record.id).sort()).toEqual(ids.sort())
  })
})
