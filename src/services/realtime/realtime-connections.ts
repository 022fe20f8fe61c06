import { EngineError } from '../../core/errors/index.js'
import type { AuthIdentity } from '../context.js'

/**
 * One set of limits for every realtime connection of this process, whatever its transport: an
 * SSE stream (`GET /api/realtime`) and a GraphQL WebSocket are each one connection.
 */
export interface ConnectionLimits {
  /** `ER_REALTIME_MAX_CONNECTIONS`: open connections per signed-in user (API keys count as their owner). */
  maxConnectionsPerUser: number
  /** `ER_REALTIME_MAX_PER_ADDRESS`: open connections per client address, signed in or not. */
  maxConnectionsPerAddress: number
  /** `ER_REALTIME_MAX_TOTAL`: open connections on this process in all. */
  maxConnectionsTotal: number
  /** `ER_REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION`: SSE topics, or WebSocket operations at once. */
  maxSubscriptionsPerConnection: number
}

export type Transport = 'sse' | 'ws'

/** Who a connection counts against per user: one auth record, whichever credential it used. */
export function userKeyOf(auth: AuthIdentity): string {
  return `${auth.collection.id}/${String(auth.record.id)}`
}

/** Seconds a refused client is told to wait: long enough not to hammer, short enough to matter. */
const RETRY_AFTER_SECONDS = 5

/**
 * Counts open realtime connections and refuses one past a limit with `ER_RATE_LIMITED` (429).
 * Counting is synchronous: the check and the increment cannot interleave with another request,
 * so a burst of a thousand concurrent connects gets exactly the allowed number through.
 *
 * @example
 *   const connection = connections.open('sse', request.ip, userKeyOf(ctx.auth))
 *   stream.onEnd(() => connection.close())
 */
export class RealtimeConnections {
  readonly limits: ConnectionLimits
  readonly #byUser = new Map<string, number>()
  readonly #byAddress = new Map<string, number>()
  readonly #open: Record<Transport, number> = { sse: 0, ws: 0 }

  constructor(limits: ConnectionLimits) {
    this.limits = limits
  }

  /** Open connections of one transport, or of both. */
  count(transport?: Transport): number {
    return transport ? this.#open[transport] : this.#open.sse + this.#open.ws
  }

  /** Takes a slot for a new connection from `address`, signed in as `user` if known yet. */
  open(transport: Transport, address: string, user?: string): RealtimeConnection {
    const { maxConnectionsTotal, maxConnectionsPerAddress } = this.limits
    if (this.count() >= maxConnectionsTotal) {
      throw refused(`This server holds its maximum of ${maxConnectionsTotal} realtime connections`)
    }
    if ((this.#byAddress.get(address) ?? 0) >= maxConnectionsPerAddress) {
      throw refused(`At most ${maxConnectionsPerAddress} realtime connections per client address`)
    }
    if (user !== undefined) this.#checkUser(user)
    this.#open[transport]++
    increment(this.#byAddress, address)
    const connection = new RealtimeConnection(this, transport, address)
    if (user !== undefined) connection.identify(user)
    return connection
  }

  #checkUser(user: string): void {
    const max = this.limits.maxConnectionsPerUser
    if ((this.#byUser.get(user) ?? 0) >= max) {
      throw refused(`At most ${max} realtime connections per user`)
    }
  }

  /** @internal for RealtimeConnection */
  addUser(user: string): void {
    this.#checkUser(user)
    increment(this.#byUser, user)
  }

  /** @internal for RealtimeConnection */
  release(transport: Transport, address: string, user: string | undefined): void {
    this.#open[transport]--
    decrement(this.#byAddress, address)
    if (user !== undefined) decrement(this.#byUser, user)
  }
}

/** One open connection's slot; `close()` frees it (more than once is harmless). */
export class RealtimeConnection {
  readonly transport: Transport
  readonly address: string
  readonly #owner: RealtimeConnections
  #user: string | undefined
  #closed = false

  constructor(owner: RealtimeConnections, transport: Transport, address: string) {
    this.#owner = owner
    this.transport = transport
    this.address = address
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Counts the connection against a user from now on (a WebSocket learns who it is from its
   * first message, after the socket was accepted). Throws `ER_RATE_LIMITED` past the per-user
   * limit; the connection keeps its address slot until it is closed.
   */
  identify(user: string): void {
    if (this.#closed || this.#user !== undefined) return
    this.#owner.addUser(user)
    this.#user = user
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#owner.release(this.transport, this.address, this.#user)
  }
}

function refused(what: string): EngineError {
  return new EngineError('ER_RATE_LIMITED', `${what}; close one or retry later.`, {
    extra: { retryAfter: RETRY_AFTER_SECONDS },
  })
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1
  // Deleted at zero: a map of every address ever seen would grow without bound.
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
