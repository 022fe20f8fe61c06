import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../auth/auth-service.js'
import { requireScope } from '../access.js'
import { callerVisibility } from '../caller-visibility.js'
import type { RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { SchemaRegistry } from '../schema/schema-registry.js'
import type { RealtimeHub } from './realtime-hub.js'
import {
  userKeyOf,
  type ConnectionLimits,
  type RealtimeConnection,
  type RealtimeConnections,
} from './realtime-connections.js'
import { parseLastEventId, parseTopics } from './subscriptions.js'
import { SseStream, type StreamSink, type Topic } from './sse-stream.js'
import { createTicketBook } from './tickets.js'

/** Limits and timings of realtime streams (each has an `ER_REALTIME_*` setting). */
export interface RealtimeLimits extends ConnectionLimits {
  maxBufferBytes: number
  /** How long a new ticket may wait for its first stream. */
  ticketTtlSeconds: number
  /** How long after its first stream a ticket still reopens that same stream (reconnects). */
  ticketReconnectSeconds: number
}

export interface RealtimeDeps {
  store: Store
  records: RecordsService
  auth: AuthService
  registry: SchemaRegistry
  hub: RealtimeHub
  /** Every realtime connection of this process, SSE and WebSocket, against one set of limits. */
  connections: RealtimeConnections
  clock: Clock
  limits: RealtimeLimits
}

/** What a client asks for when it opens a stream, as strings from any transport. */
export interface SubscribeInput {
  /** The bearer token from the request, if it sent one. */
  token: string | undefined
  ticket: string | undefined
  topics: string[]
  filter: string | undefined
  lastEventId: string | undefined
  requestId: string
  /**
   * Where the subscription runs. An SSE stream is a connection of its own, from the client's
   * `address` (as `request.ip` has it); a GraphQL subscription runs `within` its WebSocket,
   * which already holds the connection's slot.
   */
  client: { address: string } | { within: RealtimeConnection }
}

/** A checked subscription, ready to stream; every error was raised before the stream begins. */
export interface Subscription {
  /**
   * Opens the stream. `attached` settles once the hub delivers to it: every change committed
   * before then is behind it (or replayed), every later one reaches it. Tell the client it is
   * subscribed only then, or a write it makes at once could fall before the stream's start.
   */
  open(sink: StreamSink): { stream: SseStream; attached: Promise<void> }
}

export type RealtimeService = ReturnType<typeof createRealtimeService>

/**
 * Realtime use cases: one-time tickets for browsers (EventSource cannot send headers) and
 * opening a change stream for a caller after checking topics, filter, access and limits.
 */
export function createRealtimeService(deps: RealtimeDeps) {
  const { records, auth, registry, hub, connections, clock, limits } = deps
  const tickets = createTicketBook(deps.store, clock, limits)

  /**
   * `POST /api/realtime/ticket`: a random ticket that stands for the caller's token, so that a
   * browser's EventSource (which cannot send headers) can open a stream and reconnect it.
   */
  async function issueTicket(
    ctx: RequestContext,
    token: string | undefined,
  ): Promise<{ ticket: string; expiresIn: number }> {
    if (!ctx.auth || !token) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to get a ticket.')
    return { ticket: await tickets.issue(token), expiresIn: limits.ticketTtlSeconds }
  }

  async function subscribe(input: SubscribeInput): Promise<Subscription> {
    const topics = parseTopics(input.topics, limits.maxSubscriptionsPerConnection)
    const lastEventId = parseLastEventId(input.lastEventId)
    const token =
      input.ticket !== undefined
        ? await tickets.redeem(input.ticket, streamKey(topics, input.filter))
        : input.token
    // No token: an anonymous stream, of what anyone may see (checked per topic below).
    const identity = token === undefined ? null : await auth.identify(token)
    const ctx: RequestContext = { auth: identity, requestId: input.requestId, query: {} }
    // An API key streams only what its scopes let it read over REST (403 as REST answers): each
    // change is read as a view reads it, and a whole collection's changes reveal records the
    // way a list does, so that topic needs both.
    for (const topic of topics) {
      requireScope(ctx, topic.collection, 'view')
      if (topic.recordId === undefined) requireScope(ctx, topic.collection, 'list')
    }
    // Checks access to each collection and the filter against each, as a list would.
    for (const collection of new Set(topics.map((t) => t.collection))) {
      await records.visibleSnapshots(ctx, collection, [], input.filter)
    }
    if (!identity) requireAnonymousReach(ctx, topics)
    // Last, so a refused request never held a slot; counted synchronously on this node, so a
    // burst cannot overshoot (and atomically in the shared leases across nodes). An anonymous
    // stream counts against its address only.
    const own =
      'address' in input.client ? connections.open('sse', input.client.address) : undefined
    try {
      if (identity) await own?.identify(userKeyOf(identity))
    } catch (error) {
      own?.close()
      throw error
    }
    return {
      open(sink) {
        const opened = new SseStream(
          {
            write: (chunk) => sink.write(chunk),
            bufferedBytes: () => sink.bufferedBytes(),
            // The stream ends its sink exactly once, however it ends: that frees the slot.
            end: () => {
              sink.end()
              own?.close()
            },
          },
          { ctx, token, topics, filter: input.filter, maxBufferBytes: limits.maxBufferBytes },
        )
        return { stream: opened, attached: hub.attach(opened, lastEventId) }
      },
    }
  }

  /**
   * An anonymous caller may stream a collection only when some record of it could be visible to
   * anyone (its view rule, and its list rule for a whole-collection topic, could hold with no
   * caller): a rule like `owner = @request.auth.id` is refused with 401 up front, as a list is,
   * instead of opening a stream that could never carry an event.
   */
  function requireAnonymousReach(ctx: RequestContext, topics: readonly Topic[]): void {
    const view = callerVisibility(ctx, registry)
    for (const topic of topics) {
      // Known: the access check before this one answered 404 otherwise.
      const collection = registry.get(topic.collection)
      const actions =
        topic.recordId === undefined ? (['view', 'list'] as const) : (['view'] as const)
      if (actions.some((action) => !view.may(collection, action))) {
        throw new EngineError(
          'ER_AUTH_REQUIRED',
          `Sign in to subscribe to "${topic.collection}": its records are not visible to anyone.`,
        )
      }
    }
  }

  return { issueTicket, subscribe }
}

/** What makes two connections "the same stream" for a ticket: the topics and the filter. */
function streamKey(topics: readonly Topic[], filter: string | undefined): string {
  const names = topics.map((t) =>
    t.recordId === undefined ? t.collection : `${t.collection}/${t.recordId}`,
  )
  return JSON.stringify([[...new Set(names)].sort(), filter ?? ''])
}
