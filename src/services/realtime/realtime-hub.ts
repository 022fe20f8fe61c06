import type { Bus } from '../../adapters/bus/bus.js'
import type { ChangeEvent, Store } from '../../adapters/store/store.js'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../auth/auth-service.js'
import type { RecordsService } from '../records/records-service.js'
import { toApiRecord } from '../records/record-view.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import { CHANGES_CHANNEL } from './change-dispatcher.js'
import { eventFrame, type SseStream } from './sse-stream.js'

export interface HubOptions {
  store: Store
  bus: Bus
  records: RecordsService
  auth: AuthService
  registry: SchemaRegistry
  heartbeatMs: number
  /** How often open streams re-check their session (revocation, changed auth record). */
  reauthMs: number
  /** Failures of the hub itself (a bus message it cannot read, the outbox unreachable). */
  onError?: (error: unknown) => void
}

/**
 * One stream that the hub had to end because judging or delivering its events failed. The
 * other streams carry on; this one got `event: error` naming `lastEventId` to resume from.
 */
export interface SubscriberFailure {
  /**
   * The request that opened the stream (for a GraphQL subscription, the WebSocket upgrade's
   * request id, `:`, the operation id).
   */
  requestId: string
  /** The collection of the event that could not be judged or delivered. */
  collection: string
  /**
   * `check_failed`: the visibility query threw; `delivery_failed`: building or writing a frame;
   * `replay_failed`: reading the outbox to catch up from Last-Event-ID.
   */
  reason: 'check_failed' | 'delivery_failed' | 'replay_failed'
  error: unknown
  /** The last event id the stream passed, where its client resumes. */
  lastEventId: number
}

/** The ids a group's stream may see, or why they could not be judged. */
type Verdict = { visible: Set<number> } | { failed: unknown }

const READ_BATCH = 500

/**
 * This process's side of realtime: takes event batches off the bus, makes them gap-free and
 * duplicate-free (ids are contiguous, so a jump means the bus dropped something: the missing
 * ids are read from the outbox), and fans them out to the open streams. Everything runs on one
 * serial queue, so a stream that is catching up (Last-Event-ID) never interleaves with live
 * batches.
 */
export class RealtimeHub {
  readonly #options: HubOptions
  readonly #streams = new Set<SseStream>()
  #lastId = 0
  #queue: Promise<void> = Promise.resolve()
  #timers: NodeJS.Timeout[] = []
  #unsubscribe: (() => Promise<void>) | undefined
  readonly #failureListeners = new Set<(failure: SubscriberFailure) => void>()

  constructor(options: HubOptions) {
    this.#options = options
  }

  async start(): Promise<void> {
    // Streams opened from now on start here; anything older is replayed from the outbox.
    this.#lastId = (await this.#options.store.outboxBounds()).last
    this.#unsubscribe = await this.#options.bus.subscribe(CHANGES_CHANNEL, (message) => {
      // Parsed inside the queue: a bad message must not throw into the bus's event emitter.
      this.#enqueue(() => this.#onBatch(JSON.parse(message) as ChangeEvent[]))
    })
    const heartbeat = setInterval(() => {
      for (const stream of this.#streams) {
        // A sink that throws ends its own stream, not this round for the others (nor, from a
        // timer, the process).
        try {
          stream.heartbeat()
        } catch (error) {
          this.#fail(stream, { reason: 'delivery_failed', collection: '', error })
        }
      }
    }, this.#options.heartbeatMs)
    const reauth = setInterval(
      () => this.#enqueue(() => this.#reauthenticate()),
      this.#options.reauthMs,
    )
    heartbeat.unref()
    reauth.unref()
    this.#timers = [heartbeat, reauth]
  }

  /** Open streams of one identity (for the per-user connection limit). */
  countFor(identityKey: string): number {
    let n = 0
    for (const stream of this.#streams) if (stream.identityKey === identityKey) n++
    return n
  }

  get size(): number {
    return this.#streams.size
  }

  /**
   * Adds a stream. It starts after every change committed before it was attached, including
   * ones the bus has not brought to this node yet (the outbox's newest id), so a client that
   * subscribes after a write never hears of that write. With `lastEventId` it first receives
   * every retained event after that id; if some of them were pruned (or the id is unknown) it
   * gets `event: reset` and reads on live.
   */
  attach(stream: SseStream, lastEventId: number | undefined): Promise<void> {
    stream.onClose(() => this.#streams.delete(stream))
    return this.#enqueue(async () => {
      if (stream.closed) return
      const { last } = await this.#options.store.outboxBounds()
      stream.lastId = Math.max(this.#lastId, last)
      stream.positioned = true
      if (lastEventId !== undefined) {
        try {
          await this.#replay(stream, lastEventId)
        } catch (error) {
          // This client's catch-up failed, nobody else's: it ends, saying where to resume.
          this.#fail(stream, { reason: 'replay_failed', collection: '', error })
        }
      }
      if (!stream.closed) this.#streams.add(stream)
    })
  }

  /**
   * Calls `listener` for each stream ended by a failure of its own (the HTTP layer logs and
   * counts them). Returns a function that removes the listener.
   */
  onSubscriberFailure(listener: (failure: SubscriberFailure) => void): () => void {
    this.#failureListeners.add(listener)
    return () => this.#failureListeners.delete(listener)
  }

  /** Ends every stream with a reason (server shutting down). */
  closeAll(reason: string, message: string): void {
    for (const stream of [...this.#streams]) stream.fail(reason, message)
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    await this.#unsubscribe?.()
    await this.#queue
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(task).catch((error: unknown) => this.#options.onError?.(error))
    this.#queue = next
    return next
  }

  async #replay(stream: SseStream, lastEventId: number): Promise<void> {
    const { first, last } = await this.#options.store.outboxBounds()
    // Gone: the next id the client needs was pruned. Unknown: an id this outbox never issued.
    if ((first > lastEventId + 1 && last > lastEventId) || lastEventId > last) {
      stream.sendReset(stream.lastId, lastEventId > last ? 'unknown_id' : 'outside_retention')
      return
    }
    // A node whose bus is behind may be asked for an id it has not seen live: skip up to it.
    stream.lastId = lastEventId
    let after = lastEventId
    while (after < this.#lastId && !stream.closed) {
      const events = await this.#options.store.readChanges(
        after,
        Math.min(READ_BATCH, this.#lastId - after),
      )
      const end = events.at(-1)
      if (!end) break
      await this.#fanOut(events, [stream])
      after = end.id
    }
    stream.lastId = Math.max(stream.lastId, this.#lastId)
  }

  async #onBatch(batch: ChangeEvent[]): Promise<void> {
    let events = batch.filter((e) => e.id > this.#lastId)
    const firstNew = events[0]
    if (!firstNew) return
    if (firstNew.id > this.#lastId + 1) {
      // The bus lost a message (Redis reconnect, a dispatcher crash): read the gap back.
      const missing = await this.#readRange(this.#lastId, firstNew.id - 1)
      events = [...missing, ...events]
    }
    await this.#fanOut(events, [...this.#streams])
    this.#lastId = (events.at(-1) as ChangeEvent).id
  }

  async #readRange(after: number, upTo: number): Promise<ChangeEvent[]> {
    const out: ChangeEvent[] = []
    while (after < upTo) {
      const events = await this.#options.store.readChanges(
        after,
        Math.min(READ_BATCH, upTo - after),
      )
      const end = events.at(-1)
      if (!end) break
      out.push(...events)
      after = end.id
    }
    return out
  }

  /**
   * Delivers `events` to `streams`, each only what it subscribed to and may see. Visibility is
   * judged on the record as the event carries it (after a create or update, before a delete),
   * not as it is stored now: an update followed by a delete is still delivered, and each event
   * is judged on its own state. One query per collection, filter and subscriber identity for
   * the whole batch, so a thousand streams of one identity cost one query.
   *
   * Streams are isolated from one another: a check that throws, or a frame that cannot be
   * built or written, ends only the streams it concerns (see `#fail`); every other stream
   * still receives the whole batch, in order.
   */
  async #fanOut(events: ChangeEvent[], streams: SseStream[]): Promise<void> {
    const groups = new Map<
      string,
      { stream: SseStream; collection: string; events: ChangeEvent[] }
    >()
    for (const stream of streams) {
      for (const event of events) {
        if (event.id <= stream.lastId || !stream.wants(event)) continue
        const key = groupKey(stream, event)
        let group = groups.get(key)
        if (!group) groups.set(key, (group = { stream, collection: event.collection, events: [] }))
        if (group.events.at(-1)?.id !== event.id) group.events.push(event)
      }
    }
    const verdicts = new Map<string, Verdict>()
    for (const [key, group] of groups) {
      try {
        verdicts.set(key, { visible: await this.#visibleIn(group) })
      } catch (error) {
        verdicts.set(key, { failed: error })
      }
    }
    // A frame depends only on the event and whether hidden fields show: built once per batch,
    // not once per subscriber (a thousand streams would otherwise serialise a thousand times).
    const frames = new Map<string, string>()
    for (const stream of streams) {
      let current: ChangeEvent | undefined
      try {
        for (const event of events) {
          if (stream.closed) break
          if (event.id <= stream.lastId) continue
          current = event
          if (stream.wants(event)) {
            const verdict = verdicts.get(groupKey(stream, event))
            if (verdict && 'failed' in verdict) {
              this.#fail(stream, {
                reason: 'check_failed',
                collection: event.collection,
                error: verdict.failed,
              })
              break
            }
            if (verdict?.visible.has(event.id)) this.#deliver(stream, event, frames)
          }
          // Passed only once sent: a stream that fails here resumes at this event.
          stream.lastId = event.id
        }
      } catch (error) {
        this.#fail(stream, {
          reason: 'delivery_failed',
          collection: current?.collection ?? '',
          error,
        })
      }
    }
  }

  #deliver(stream: SseStream, event: ChangeEvent, frames: Map<string, string>): void {
    const showHidden = stream.ctx.auth?.isSuperuser === true
    const frameKey = `${event.id}/${showHidden}`
    let frame = frames.get(frameKey)
    if (frame === undefined) {
      const collection = this.#options.registry.find(event.collection)
      if (!collection) return
      frame = eventFrame(event, toApiRecord(collection, { ...event.record }, showHidden))
      frames.set(frameKey, frame)
    }
    stream.sendFrame(frame)
  }

  /**
   * Ends one stream whose events could not be judged or delivered, with `event: error` naming
   * the last event it passed (its client resumes from there with Last-Event-ID), and tells the
   * failure listeners. Nothing of the error reaches the client: it may hold SQL or data.
   */
  #fail(stream: SseStream, failure: Omit<SubscriberFailure, 'requestId' | 'lastEventId'>): void {
    if (stream.closed) return
    stream.fail(
      'subscriber_failed',
      `The server could not deliver this stream's events; reconnect with Last-Event-ID: ${stream.lastId} to resume.`,
    )
    const report: SubscriberFailure = {
      ...failure,
      requestId: stream.ctx.requestId,
      lastEventId: stream.lastId,
    }
    for (const listener of this.#failureListeners) {
      try {
        listener(report)
      } catch (error) {
        this.#options.onError?.(error)
      }
    }
  }

  /** The ids of the group's events its stream may see. */
  async #visibleIn(group: {
    stream: SseStream
    collection: string
    events: ChangeEvent[]
  }): Promise<Set<number>> {
    const out = new Set<number>()
    try {
      const passed = await this.#options.records.visibleSnapshots(
        group.stream.ctx,
        group.collection,
        group.events.map((event) => event.record),
        group.stream.filter,
      )
      for (const index of passed) out.add((group.events[index] as ChangeEvent).id)
    } catch (error) {
      // A collection deleted or access withdrawn since subscribing: nothing is visible. A
      // statement that met a definition it did not expect is a failure of this stream: it ends
      // with an error its client resumes from, rather than silently missing events.
      if (!(error instanceof EngineError) || error.code === 'ER_SCHEMA_CHANGED') throw error
    }
    return out
  }

  /** Re-resolves each stream's identity from its token; a revoked session ends the stream. */
  async #reauthenticate(): Promise<void> {
    const byToken = new Map<string, Promise<Awaited<ReturnType<AuthService['identify']>> | null>>()
    for (const stream of [...this.#streams]) {
      // An anonymous stream has no session to end.
      if (stream.token === undefined) continue
      let identity = byToken.get(stream.token)
      if (!identity) {
        identity = this.#options.auth.identify(stream.token).catch(() => null)
        byToken.set(stream.token, identity)
      }
      const resolved = await identity
      if (!resolved) stream.fail('unauthorized', 'The session has ended or its token expired.')
      else stream.ctx = { ...stream.ctx, auth: resolved }
    }
  }
}

/** Streams with the same identity, collection and filter see the same events. */
function groupKey(stream: SseStream, event: ChangeEvent): string {
  return `${stream.identityKey}\n${event.collection}\n${stream.filter ?? ''}`
}
