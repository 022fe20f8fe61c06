/**
 * Realtime with no SDK at all: Chromium's own EventSource, anonymous on a public collection and
 * signed in through a ticket on a members-only one. The server kills both sockets; the browser
 * reconnects by itself (same URL, same ticket, its own Last-Event-ID) and every change arrives
 * exactly once, including the one written while it was away.
 */
import type { Socket } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { browserTestsRun, launchChromium } from '../helpers/browser.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const PAGE = `<!doctype html><title>feeds</title>
<script>
  window.feeds = {}
  window.listen = (name, url) => {
    const feed = { opens: 0, errors: 0, ids: [], eventIds: [] }
    window.feeds[name] = feed
    const source = new EventSource(url)
    source.onopen = () => feed.opens++
    source.onerror = () => feed.errors++
    for (const action of ['create', 'update', 'delete']) {
      source.addEventListener(action, (e) => {
        feed.ids.push(JSON.parse(e.data).record.id)
        feed.eventIds.push(e.lastEventId)
      })
    }
  }
</script>`

interface Feed {
  opens: number
  errors: number
  ids: string[]
  eventIds: string[]
}

describe.runIf(browserTestsRun()).each(await availableDialects())(
  "Chromium's native EventSource on %s",
  (dialect) => {
    let t: TestEngine
    let origin: string
    let browser: Browser
    let userToken: string
    // Every realtime request the server received, with its socket and Last-Event-ID.
    const realtimeRequests: { url: string; lastEventId: string | undefined; socket: Socket }[] = []

    beforeAll(async () => {
      t = await createTestEngine(dialect)
      await createCollection(t, { name: 'users', type: 'auth', fields: [], rules: { create: '' } })
      await createCollection(t, {
        name: 'news',
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '' },
      })
      await createCollection(t, {
        name: 'members_news',
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '@request.auth.id != ""', view: '@request.auth.id != ""' },
      })
      await createRecord(t, 'users', { email: 'ann@example.com', password: 'a long password' })
      const login = await t.call({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: 'ann@example.com', password: 'a long password' },
        anonymous: true,
      })
      userToken = (login.json() as { token: string }).token
      origin = await t.app.listen({ host: '127.0.0.1', port: 0 })
      t.app.server.on('request', (request) => {
        if (!request.url?.startsWith('/api/realtime?')) return
        const header = request.headers['last-event-id']
        realtimeRequests.push({
          url: request.url,
          lastEventId: typeof header === 'string' ? header : undefined,
          socket: request.socket,
        })
      })
      browser = await launchChromium()
    })

    afterAll(async () => {
      await browser?.close()
      await t?.close()
    })

    it('reconnects by itself after the server drops it, and loses no event', async () => {
      const page = await browser.newPage()
      await page.route(`${origin}/feeds`, (route) =>
        route.fulfill({ contentType: 'text/html', body: PAGE }),
      )
      await page.goto(`${origin}/feeds`)
      const ticket = await t.app.inject({
        method: 'POST',
        url: '/api/realtime/ticket',
        headers: { authorization: `Bearer ${userToken}` },
      })
      expect(ticket.statusCode, ticket.body).toBe(200)
      await page.evaluate(
        ({ ticket }) => {
          const w = globalThis as unknown as { listen(name: string, url: string): void }
          w.listen('anonymous', '/api/realtime?topic=news')
          w.listen('member', `/api/realtime?topic=members_news&ticket=${ticket}`)
        },
        { ticket: (ticket.json() as { ticket: string }).ticket },
      )
      const feeds = () =>
        page.evaluate(() => (globalThis as unknown as { feeds: Record<string, Feed> }).feeds)
      const until = (test: (f: Record<string, Feed>) => boolean) =>
        expect.poll(async () => test(await feeds()), { timeout: 20_000, interval: 100 }).toBe(true)
      await until((f) => f.anonymous?.opens === 1 && f.member?.opens === 1)

      const written: Record<'news' | 'members_news', string[]> = { news: [], members_news: [] }
      const write = async () => {
        for (const name of ['news', 'members_news'] as const)
          written[name].push((await createRecord(t, name, { title: 'x' })).id as string)
      }
      await write()
      await until((f) => f.anonymous?.ids.length === 1 && f.member?.ids.length === 1)

      // The server ends both connections; a change commits before the browser is back.
      const dropped = realtimeRequests.length
      for (const { socket } of realtimeRequests) socket.destroy()
      await write()
      await until((f) => f.anonymous!.opens >= 2 && f.member!.opens >= 2)
      await write()
      await until((f) => f.anonymous?.ids.length === 3 && f.member?.ids.length === 3)

      const final = await feeds()
      expect(final.anonymous?.ids).toEqual(written.news)
      expect(final.member?.ids).toEqual(written.members_news)
      // The reconnects were the browser's own: same URLs, each with the last id it had seen.
      const reconnects = realtimeRequests.slice(dropped)
      expect(reconnects.map((r) => r.url).sort()).toEqual(
        realtimeRequests
          .slice(0, dropped)
          .map((r) => r.url)
          .sort(),
      )
      for (const reconnect of reconnects) expect(reconnect.lastEventId).toMatch(/^\d+$/)
      await page.close()
    })
  },
)
