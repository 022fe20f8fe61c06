import { randomBytes } from 'node:crypto'
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

/**
 * Per-user connection counts shared by every node of a deployment (Redis when `REDIS_URL` is
 * set). Each slot is a lease the holding node renews: a node that dies stops renewing, and its
 * slots lapse within the lease time instead of holding the cap forever.
 */
export interface ConnectionLeases {
  /** Takes one of the user's `max` slots as `lease`; false when every slot is taken. */
  acquire(user: string, lease: string, max: number): Promise<boolean>
  /** Gives the slot back (more than once is harmless). */
  release(user: string, lease: string): void
}

/** Who a connection counts against per user: one auth record, whichever credential it used. */
export function userKeyOf(auth: AuthIdentity): string {
  return `${auth.collection.id}/${String(auth.record.id)}`
}

/** Seconds a refused client is told to wait: long enough not to hammer, short enough to matter. */
const RETRY_AFTER_SECONDS = 5

/**
 * Counts open realtime connections and refuses one past a limit with `ER_RATE_LIMITED` (429).
 * Counting on this process is synchronous: the check and the increment cannot interleave with
 * another request, so a burst of a thousand concurrent connects gets exactly the allowed number
 * through. With shared leases (`share`), the per-user cap also holds across nodes: a slot taken
 * here is then also a lease taken atomically in the shared store.
 *
 * @example
 *   const connection = connections.open('sse', request.ip)
 *   await connection.identify(userKeyOf(ctx.auth))
 *   stream.onEnd(() => connection.close())
 */
export class RealtimeConnections {
  readonly limits: ConnectionLimits
  readonly #byUser = new Map<string, number>()
  readonly #byAddress = new Map<string, number>()
  readonly #open: Record<Transport, number> = { sse: 0, ws: 0 }
  #leases: ConnectionLeases | undefined
  #nextLease = 0
  /** Tells this process's leases apart from other nodes' in the shared store. */
  readonly #node = randomBytes(6).toString('base64url')

  constructor(limits: ConnectionLimits) {
    this.limits = limits
  }

  /** Counts per-user slots in `leases` too, so the cap holds across every node sharing them. */
  share(leases: ConnectionLeases): void {
    this.#leases = leases
  }

  /** Open connections of one transport, or of both. */
  count(transport?: Transport): number {
    return transport ? this.#open[transport] : this.#open.sse + this.#open.ws
  }

  /**
   * Takes a slot for a new connection from `address`; `identify` then counts it against its
   * user (once the transport knows who it is).
   */
  open(transport: Transport, address: string): RealtimeConnection {
    const { maxConnectionsTotal, maxConnectionsPerAddress } = this.limits
    if (this.count() >= maxConnectionsTotal) {
      throw refused(`This server holds its maximum of ${maxConnectionsTotal} realtime connections`)
    }
    if ((this.#byAddress.get(address) ?? 0) >= maxConnectionsPerAddress) {
      throw refused(`At most ${maxConnectionsPerAddress} realtime connections per client address`)
    }
    this.#open[transport]++
    increment(this.#byAddress, address)
    return new RealtimeConnection(this, transport, address)
  }

  #checkUser(user: string): void {
    const max = this.limits.maxConnectionsPerUser
    if ((this.#byUser.get(user) ?? 0) >= max) {
      throw refused(`At most ${max} realtime connections per user`)
    }
  }

  /**
   * @internal for RealtimeConnection: counts a slot of `user` here (synchronously, so a burst on
   * one node cannot overshoot), then its lease in the shared store when there is one.
   * Resolves to the lease to give back on close.
   */
  async addUser(user: string): Promise<string | undefined> {
    this.#checkUser(user)
    increment(this.#byUser, user)
    const leases = this.#leases
    if (!leases) return undefined
    const lease = `${this.#node}:${++this.#nextLease}`
    let granted: boolean
    try {
      granted = await leases.acquire(user, lease, this.limits.maxConnectionsPerUser)
    } catch (error) {
      decrement(this.#byUser, user)
      throw error
    }
    if (!granted) {
      decrement(this.#byUser, user)
      throw refused(`At most ${this.limits.maxConnectionsPerUser} realtime connections per user`)
    }
    return lease
  }

  /** @internal for RealtimeConnection */
  release(transport: Transport, address: string): void {
    this.#open[transport]--
    decrement(this.#byAddress, address)
  }

  /** @internal for RealtimeConnection */
  releaseUser(user: string, lease: string | undefined): void {
    decrement(this.#byUser, user)
    if (lease !== undefined) this.#leases?.release(user, lease)
  }
}

/** One open connection's slot; `close()` frees it (more than once is harmless). */
export class RealtimeConnection {
  readonly transport: Transport
  readonly address: string
  readonly #owner: RealtimeConnections
  /** Taking the user's slot (pending while the shared lease is asked for). */
  #claim: Promise<void> | undefined
  /** The user's slot once taken: what `close` gives back. */
  #slot: { user: string; lease: string | undefined } | undefined
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
   * first message, after the socket was accepted). Rejects with `ER_RATE_LIMITED` past the
   * per-user limit; the connection keeps its address slot until it is closed.
   */
  async identify(user: string): Promise<void> {
    if (this.#closed || this.#claim !== undefined) return
    this.#claim = this.#owner.addUser(user).then((lease) => {
      // Closed while the lease was being taken: given back at once, never held.
      if (this.#closed) this.#owner.releaseUser(user, lease)
      else this.#slot = { user, lease }
    })
    await this.#claim
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#owner.release(this.transport, this.address)
    if (this.#slot) this.#owner.releaseUser(this.#slot.user, this.#slot.lease)
    this.#slot = undefined
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
