/**
 * Record changes over Server-Sent Events, read with fetch streaming (not EventSource) so the
 * bearer token travels in a header and works the same in Node 20 and browsers. A dropped
 * stream reconnects by itself with `Last-Event-ID`, so no committed change is missed or
 * delivered twice; `event: reset` (the server pruned events past the id) reaches `onReset`.
 * A stream the server ends because the token expired (or a reconnect refused with 401) renews
 * the session once (the same single-flight refresh as requests) and resumes where it was.
 */
import { ProblemError, problemFrom, type ProblemBody } from './errors.js'
import type { Http } from './http.js'

export interface RealtimeEvent<R = Record<string, unknown>> {
  /** The event id; pass it as `lastEventId` to resume after it. */
  id: string | undefined
  action: 'create' | 'update' | 'delete'
  collection: string
  record: R
}

export interface SubscribeOptions<R = Record<string, unknown>> {
  /** `posts` (a collection) or `posts/{id}` (one record). */
  topics: readonly string[]
  /** Only changes whose record matches this filter. */
  filter?: string
  /** Resume after this id (from an earlier subscription's `lastEventId`). */
  lastEventId?: string
  onEvent(event: RealtimeEvent<R>): void
  /** The server dropped events past `lastEventId`: refetch what you show, then read on. */
  onReset?(): void
  /**
   * A refused stream (401, 403, a bad filter) or the server's `event: error`. Refusals and
   * `unauthorized` end the subscription; other errors are followed by a reconnect.
   */
  onError?(error: ProblemError): void
  /** Waits before a reconnect, in ms (default 1000). */
  retryMs?: number
}

export interface Subscription {
  /** The id of the last event received. */
  readonly lastEventId: string | undefined
  /** Resolves once the stream is open (the server answered 200), or rejects if refused. */
  readonly ready: Promise<void>
  close(): void
}

export interface RealtimeApi {
  subscribe<R = Record<string, unknown>>(options: SubscribeOptions<R>): Subscription
}

interface Frame {
  id: string | undefined
  event: string
  data: string
}

/** Splits an SSE byte stream into frames as the WHATWG event-stream rules read them. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let id: string | undefined
  let event = ''
  let data: string[] = []
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let newline: number
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (data.length > 0 || event)
            yield { id, event: event || 'message', data: data.join('\n') }
          event = ''
          data = []
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'data') data.push(value)
        else if (field === 'event') event = value
        else if (field === 'id' && !value.includes('\0')) id = value
      }
    }
  } finally {
    reader.releaseLock()
  }
}

export function createRealtimeApi(http: Http): RealtimeApi {
  return {
    subscribe<R>(options: SubscribeOptions<R>): Subscription {
      const controller = new AbortController()
      let lastEventId = options.lastEventId
      let settle: { resolve(): void; reject(error: unknown): void } | undefined
      const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }))
      // A caller who never awaits `ready` must not see an unhandled rejection.
      ready.catch(() => {})
      const query = new URLSearchParams()
      for (const topic of options.topics) query.append('topic', topic)
      if (options.filter) query.set('filter', options.filter)
      const url = `${http.url('/api/realtime')}?${query.toString()}`

      // After a 401 or `unauthorized`, one session refresh; a stream that opens again re-arms it.
      let renewed = false
      const renew = async (): Promise<'retry' | 'stop'> => {
        if (renewed) return 'stop'
        renewed = true
        return (await http.recover()) ? 'retry' : 'stop'
      }

      const connect = async (): Promise<'retry' | 'stop'> => {
        await http.prepare()
        const headers: Record<string, string> = {
          accept: 'text/event-stream',
          ...http.authHeaders(),
        }
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
        const response = await http.fetch(url, { headers, signal: controller.signal })
        if (response.status !== 200 || !response.body) {
          const problem = await problemFrom(response)
          if (response.status === 401 && (await renew()) === 'retry') return 'retry'
          settle?.reject(problem)
          options.onError?.(problem)
          return 'stop'
        }
        renewed = false
        settle?.resolve()
        for await (const frame of frames(response.body)) {
          if (frame.id !== undefined) lastEventId = frame.id
          if (frame.event === 'reset') options.onReset?.()
          else if (frame.event === 'error') {
            const problem = new ProblemError(JSON.parse(frame.data) as ProblemBody)
            if (problem.body.reason === 'unauthorized') {
              if ((await renew()) === 'retry') return 'retry'
              options.onError?.(problem)
              return 'stop'
            }
            options.onError?.(problem)
          } else if (frame.event !== 'message') {
            const payload = JSON.parse(frame.data) as Omit<RealtimeEvent<R>, 'id'>
            options.onEvent({ id: frame.id, ...payload })
          }
        }
        return 'retry'
      }

      const run = async () => {
        while (!controller.signal.aborted) {
          let next: 'retry' | 'stop' = 'retry'
          try {
            next = await connect()
          } catch (error) {
            if (controller.signal.aborted) return
            // A network failure before the first answer: report it once via `ready`, keep trying.
            settle?.reject(error)
          }
          if (next === 'stop' || controller.signal.aborted) return
          await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1000))
        }
      }
      void run()

      return {
        get lastEventId() {
          return lastEventId
        },
        ready,
        close: () => controller.abort(),
      }
    },
  }
}
