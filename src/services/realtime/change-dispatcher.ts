import type { Bus } from '../../adapters/bus/bus.js'
import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'

/** The bus channel committed change events travel on, as a JSON array of `ChangeEvent`. */
export const CHANGES_CHANNEL = 'changes'
/** The `_settings` key of the id of the last event published (the persisted cursor). */
export const DISPATCH_CURSOR_KEY = 'realtime_dispatch_cursor'

/** How long change events stay in the outbox for replay: a number of events and/or an age. */
export interface Retention {
  events?: number
  seconds?: number
}

export interface DispatcherOptions {
  store: Store
  bus: Bus
  clock: Clock
  retention: Retention
  /** Safety-net poll for writes made by a node that crashed before dispatching (default 1000). */
  pollMs?: number
  /** Events per bus message (default 500). */
  batchSize?: number
  /** How often to prune the outbox (default 60 000 ms). */
  pruneEveryMs?: number
  /** Events after this id are kept whatever the retention (an extension's after-hook cursor). */
  pruneFloor?: () => Promise<number>
  onError?: (error: unknown) => void
}

export type ChangeDispatcher = ReturnType<typeof createChangeDispatcher>

/**
 * Publishes committed outbox events to the bus, in id (= commit) order, from a cursor kept in
 * the store. One node dispatches at a time (the dispatcher lock); each round reads after the
 * cursor, publishes, and advances the cursor in the same transaction. A crash between publish
 * and commit publishes those events again after restart: at-least-once on the bus, and every
 * consumer drops ids it has seen (the event id is the idempotency key), so exactly-once to it.
 */
export function createChangeDispatcher(options: DispatcherOptions) {
  const { store, bus, clock, retention } = options
  const batchSize = options.batchSize ?? 500
  const pruneEveryMs = options.pruneEveryMs ?? 60_000
  let running: Promise<void> | undefined
  let again = false
  let lastPrune = 0
  let timer: NodeJS.Timeout | undefined

  async function round(): Promise<number> {
    const published = await store.exclusiveTransaction('dispatcher', async (tx) => {
      const cursor = Number((await tx.getSetting(DISPATCH_CURSOR_KEY)) ?? '0')
      const events = await tx.readChanges(cursor, batchSize)
      const last = events.at(-1)
      if (!last) return 0
      await bus.publish(CHANGES_CHANNEL, JSON.stringify(events))
      await tx.setSetting(DISPATCH_CURSOR_KEY, String(last.id))
      return events.length
    })
    return published ?? 0
  }

  async function drain(): Promise<void> {
    do {
      again = false
      // Bounded: a backlog larger than this continues on the next wake or poll.
      for (let i = 0; i < 100 && (await round()) === batchSize; i++);
    } while (again)
    if (Date.now() - lastPrune >= pruneEveryMs) await prune()
  }

  /** Deletes events outside the retention window. */
  async function prune(): Promise<number> {
    lastPrune = Date.now()
    if (retention.events === undefined && retention.seconds === undefined) return 0
    const floor = await options.pruneFloor?.()
    return store.pruneChanges({
      ...(floor !== undefined ? { keepAfter: floor } : {}),
      ...(retention.events !== undefined ? { events: retention.events } : {}),
      ...(retention.seconds !== undefined
        ? { before: new Date(clock.now().getTime() - retention.seconds * 1000).toISOString() }
        : {}),
    })
  }

  /** Asks for a round soon; calls while one runs make it go round once more. */
  function wake(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    // One turn of the event loop first: the writes committing beside this one (concurrent
    // requests) then share a round, instead of each paying a dispatcher transaction.
    running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(drain)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = undefined
      })
    return running
  }

  return {
    wake,
    prune,
    start() {
      timer = setInterval(() => void wake(), options.pollMs ?? 1000)
      timer.unref()
      void wake()
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
