import { createHash, randomBytes } from 'node:crypto'
import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../auth/auth-service.js'
import { requireScope } from '../access.js'
import type { RequestContext } from '../context.js'
import type { RecordsService } from '../records/records-service.js'
import type { RealtimeHub } from './realtime-hub.js'
import {
  userKeyOf,
  type ConnectionLimits,
  type RealtimeConnection,
  type RealtimeConnections,
} from './realtime-connections.js'
import { parseLastEventId, parseTopics } from './subscriptions.js'
import { SseStream, type StreamSink } from './sse-stream.js'

/** Limits and timings of realtime streams (each has an `ER_REALTIME_*` setting). */
export interface RealtimeLimits extends ConnectionLimits {
  maxBufferBytes: number
  ticketTtlSeconds: number
}

export interface RealtimeDeps {
  store: Store
  records: RecordsService
  auth: AuthService
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
  const { store, records, auth, hub, connections, clock, limits } = deps

  /**
   * `POST /api/realtime/ticket`: a random one-time ticket that stands for the caller's token for
   * a few seconds. Only its hash is stored, so a database reader cannot use a pending ticket.
   */
  async function issueTicket(
    ctx: RequestContext,
    token: string | undefined,
  ): Promise<{ ticket: string; expiresIn: number }> {
    if (!ctx.auth || !token) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in to get a ticket.')
    const ticket = randomBytes(24).toString('base64url')
    const expires = new Date(clock.now().getTime() + limits.ticketTtlSeconds * 1000)
    await store.insertTicket(hashTicket(ticket), token, expires.toISOString())
    return { ticket, expiresIn: limits.ticketTtlSeconds }
  }

  async function subscribe(input: SubscribeInput): Promise<Subscription> {
    const token = input.ticket !== undefined ? await redeem(input.ticket) : input.token
    if (token === undefined) {
      throw new EngineError('ER_AUTH_REQUIRED', 'Send a bearer token or a ticket to subscribe.')
    }
    const identity = await auth.identify(token)
    const ctx: RequestContext = { auth: identity, requestId: input.requestId, query: {} }
    const topics = parseTopics(input.topics, limits.maxSubscriptionsPerConnection)
    const lastEventId = parseLastEventId(input.lastEventId)
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
    // Last, so a refused request never held a slot; counted synchronously on this node, so a
    // burst cannot overshoot (and atomically in the shared leases across nodes).
    const own =
      'address' in input.client ? connections.open('sse', input.client.address) : undefined
    try {
      await own?.identify(userKeyOf(identity))
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

  async function redeem(ticket: string): Promise<string> {
    const token =
      ticket.length <= 64
        ? await store.takeTicket(hashTicket(ticket), clock.now().toISOString())
        : undefined
    if (token === undefined) {
      throw new EngineError('ER_AUTH_TOKEN_INVALID', 'The ticket is unknown, used or expired.', {
        errors: { ticket: [{ code: 'invalid', message: 'unknown, used or expired' }] },
      })
    }
    return token
  }

  return { issueTicket, subscribe }
}

function hashTicket(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url')
}
