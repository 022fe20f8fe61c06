/**
 * A Server-Sent Events client for tests: a real HTTP connection, frames parsed as EventSource
 * would (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http'

export interface SseEvent {
  id: string | undefined
  event: string
  data: string
}

export interface SseClient {
  status: number
  events: SseEvent[]
  /** The id of the last event received (what EventSource would send as Last-Event-ID). */
  lastEventId: string | undefined
  comments: number
  ended: boolean
  /** Resolves once `predicate` holds for the events so far; rejects after `timeoutMs`. */
  waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<SseEvent[]>
  close(): void
  /** The problem document, when the server refused the stream. */
  body(): Promise<string>
  response: IncomingMessage
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
  options: { paused?: boolean } = {},
): Promise<SseClient> {
  let req: ClientRequest | undefined
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve)
    req.on('error', reject)
    req.end()
  })
  const waiters = new Set<() => void>()
  const client: SseClient = {
    status: response.statusCode ?? 0,
    events: [],
    lastEventId: undefined,
    comments: 0,
    ended: false,
    response,
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(client.events)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(client.events)
          } else if (client.ended) {
            waiters.delete(check)
            clearTimeout(timer)
            reject(new Error(`stream ended first; got ${JSON.stringify(client.events)}`))
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out; got ${JSON.stringify(client.events)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close() {
      req?.destroy()
      response.destroy()
    },
    body() {
      return new Promise((resolve) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve(text))
        // A stream opened paused stays paused until told: a data listener alone does not resume.
        response.resume()
      })
    },
  }
  if (client.status !== 200 || options.paused) {
    if (options.paused) response.pause()
    return client
  }
  response.setEncoding('utf8')
  let buffer = ''
  response.on('data', (chunk: string) => {
    buffer += chunk
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: SseEvent = { id: undefined, event: 'message', data: '' }
      let isEvent = false
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) client.comments++
        else if (line.startsWith('id: ')) event.id = line.slice(4)
        else if (line.startsWith('event: ')) event.event = line.slice(7)
        else if (line.startsWith('data: ')) {
          event.data = line.slice(6)
          isEvent = true
        }
      }
      if (event.id !== undefined) client.lastEventId = event.id
      if (isEvent) client.events.push(event)
    }
    for (const waiter of [...waiters]) waiter()
  })
  const finish = () => {
    client.ended = true
    for (const waiter of [...waiters]) waiter()
  }
  response.on('end', finish)
  response.on('close', finish)
  return client
}
