import type { ChangeEvent, Row } from '../../adapters/store/store.js'
import { errorCatalogue, type ErrorCode } from '../../core/errors/codes.js'
import type { RequestContext } from '../context.js'

/** Why a stream ends, as its `event: error` says in `reason`, and the code each one carries. */
const END_CODES: Record<string, ErrorCode> = {
  unauthorized: 'ER_AUTH_TOKEN_INVALID',
  slow_consumer: 'ER_UNAVAILABLE',
  shutdown: 'ER_UNAVAILABLE',
  subscriber_failed: 'ER_INTERNAL',
}

/** The SSE frame of one change: `id`, `event` and one `data` line of JSON (no raw newlines). */
export function eventFrame(event: ChangeEvent, record: Row): string {
  const data = JSON.stringify({ collection: event.collection, action: event.action, record })
  return `id: ${event.id}\nevent: ${event.action}\ndata: ${data}\n\n`
}

/** Where a stream's bytes go: the HTTP response, seen only through what back-pressure needs. */
export interface StreamSink {
  write(chunk: string): void
  /** Bytes written but not yet taken by the socket. */
  bufferedBytes(): number
  end(): void
}

/** `posts` (every record) or `posts/{id}` (one record). */
export interface Topic {
  collection: string
  recordId?: string
}

export interface StreamOptions {
  ctx: RequestContext
  /** The bearer token, kept to re-check the session while the stream is open; none: anonymous. */
  token: string | undefined
  topics: Topic[]
  filter: string | undefined
  /** A client that lets more than this many bytes pile up is disconnected. */
  maxBufferBytes: number
}

/**
 * One open Server-Sent Events stream (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * frames `id:`/`event:`/`data:` lines ended by a blank line, comments for heartbeats.
 */
export class SseStream {
  /** The last event id this stream has passed (delivered or filtered out). */
  lastId = 0
  /**
   * True once the hub has fixed where the stream starts (`lastId`): only then does its end
   * name an id to resume from. Before, `lastId` 0 would mean "replay everything retained".
   */
  positioned = false
  ctx: RequestContext
  readonly token: string | undefined
  readonly topics: Topic[]
  readonly filter: string | undefined
  readonly #sink: StreamSink
  readonly #maxBufferBytes: number
  #closed = false
  #onClose: (() => void) | undefined

  constructor(sink: StreamSink, options: StreamOptions) {
    this.#sink = sink
    this.ctx = options.ctx
    this.token = options.token
    this.topics = options.topics
    this.filter = options.filter
    this.#maxBufferBytes = options.maxBufferBytes
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Who the stream reads as: streams of one identity share visibility queries. */
  get identityKey(): string {
    const auth = this.ctx.auth
    return auth ? `${auth.collection.id}/${String(auth.record.id)}` : ''
  }

  onClose(listener: () => void): void {
    this.#onClose = listener
  }

  wants(event: ChangeEvent): boolean {
    return this.topics.some(
      (t) =>
        t.collection === event.collection &&
        (t.recordId === undefined || t.recordId === event.recordId),
    )
  }

  /** Sends one event frame made by `eventFrame`. */
  sendFrame(frame: string): void {
    this.#write(frame)
  }

  /** The events after the client's Last-Event-ID are gone: it must refetch, then read on. */
  sendReset(lastId: number, reason: string): void {
    this.#write(`id: ${lastId}\nevent: reset\ndata: ${JSON.stringify({ reason })}\n\n`)
  }

  /** A comment line: keeps proxies from closing an idle stream and detects dead clients. */
  heartbeat(): void {
    this.#write(': ping\n\n')
  }

  /**
   * Ends the stream with a final `event: error` whose data is an RFC 9457 problem document
   * (plus `reason`, and `message` as before) and, once positioned, `id:` and `lastEventId`: the
   * last event the stream passed, so that EventSource (or any client sending `Last-Event-ID`)
   * resumes right after it and misses nothing.
   *
   * @example
   *   event: error
   *   data: {"reason":"subscriber_failed","message":"…","type":"urn:engineroom:error:ER_INTERNAL",
   *          "title":"Internal server error","status":500,"detail":"…","code":"ER_INTERNAL","lastEventId":"42"}
   *   id: 42
   */
  fail(reason: string, message: string): void {
    if (this.#closed) return
    const code = END_CODES[reason] ?? 'ER_UNAVAILABLE'
    const { status, title } = errorCatalogue[code]
    const resume = this.positioned ? String(this.lastId) : undefined
    const problem = {
      reason,
      message,
      type: `urn:engineroom:error:${code}`,
      title,
      status,
      detail: message,
      code,
      ...(resume !== undefined ? { lastEventId: resume } : {}),
    }
    // Field order within an event is free (`id` may follow `data`); readers that match the
    // frame's start still see `event: error` then `data: {"reason"…`.
    const id = resume !== undefined ? `\nid: ${resume}` : ''
    this.#sink.write(`event: error\ndata: ${JSON.stringify(problem)}${id}\n\n`)
    this.close()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#sink.end()
    this.#onClose?.()
  }

  #write(frame: string): void {
    if (this.#closed) return
    // Bounded memory: a client that does not read is cut off, not buffered for forever.
    if (this.#sink.bufferedBytes() > this.#maxBufferBytes) {
      this.fail('slow_consumer', 'The client did not keep up with the stream; reconnect.')
      return
    }
    this.#sink.write(frame)
  }
}
