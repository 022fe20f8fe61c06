/**
 * The realtime fan-out scenario: N Server-Sent Events subscribers on `posts` while writes are
 * made one after another; every write must reach every subscriber.
 *
 * Reported: delivered events/s (subscriber × event deliveries over the time from the first write
 * to the last delivery), p50/p99 delivery latency (write sent → event parsed by the subscriber,
 * both clocks in this process), and server memory per subscriber (RSS after opening the
 * streams minus before, after a GC, divided by N).
 */
import { request } from 'node:http'

const POSTS = '/api/collections/posts/records'

function openStream(url, token, onEvent) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/realtime?topic=posts`,
      { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`subscribe: ${res.statusCode}`))
        res.setEncoding('utf8')
        let buffer = ''
        res.on('data', (chunk) => {
          buffer += chunk
          let end
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = frame.split('\n').find((line) => line.startsWith('data: '))
            if (data) onEvent(JSON.parse(data.slice(6)))
          }
        })
        res.on('error', () => {})
        resolve({ close: () => req.destroy() })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

function percentile(sorted, p) {
  return sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/** Runs the scenario against a started engine server (see measure.js `startServer`). */
export async function measureFanout(server, { token, subscribers, writes }) {
  await server.gc()
  const before = (await server.stats()).rss
  const sentAt = new Map()
  const latencies = []
  let delivered = 0
  let lastDelivery = 0
  const onEvent = (event) => {
    const sent = sentAt.get(event.record?.title)
    if (sent === undefined) return
    const now = performance.now()
    latencies.push(now - sent)
    delivered++
    lastDelivery = now
  }
  const streams = []
  // Opened in groups so the accept queue is not flooded.
  for (let i = 0; i < subscribers; i += 50) {
    const group = Math.min(50, subscribers - i)
    streams.push(
      ...(await Promise.all(
        Array.from({ length: group }, () => openStream(server.url, token, onEvent)),
      )),
    )
  }
  await new Promise((r) => setTimeout(r, 500))
  await server.gc()
  const after = (await server.stats()).rss
  const expected = subscribers * writes
  const start = performance.now()
  for (let i = 0; i < writes; i++) {
    const title = `fanout ${i} ${start}`
    sentAt.set(title, performance.now())
    const res = await fetch(`${server.url}${POSTS}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, status: 'draft', views: i }),
    })
    if (res.status !== 201) throw new Error(`write ${i}: ${res.status}`)
    await res.arrayBuffer()
  }
  // Bounded wait for the stragglers: at most 60 s after the last write.
  for (let i = 0; i < 600 && delivered < expected; i++) await new Promise((r) => setTimeout(r, 100))
  for (const stream of streams) stream.close()
  latencies.sort((a, b) => a - b)
  return {
    subscribers,
    writes,
    delivered,
    expected,
    eventsPerSec: delivered / ((lastDelivery - start) / 1000),
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    memoryPerSubscriberKB: (after - before) / subscribers / 1024,
  }
}
