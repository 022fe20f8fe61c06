import { randomBytes } from 'node:crypto'
import type { Bus } from '../../adapters/bus/bus.js'
import type { Store } from '../../adapters/store/store.js'
import type { Clock } from '../../core/clock.js'

/** The bus channel committed change events travel on, as a JSON array of `ChangeEvent`. */
export const CHANGES_CHANNEL = 'changes'
/**
 * The `_settings` key of the persisted cursor: `<id>` or `<id>@<owner>`, the id of the last
 * event published as of the last save, and which dispatcher saved it (read with
 * `parseDispatchCursor`).
 */
export const DISPATCH_CURSOR_KEY = 'realtime_dispatch_cursor'

/** The persisted cursor's event id and the dispatcher that saved it ('' when none did). */
export function parseDispatchCursor(value: string | undefined): { id: number; owner: string } {
  const [id = '0', owner = ''] = (value ?? '0').split('@')
  const parsed = Number(id)
  return { id: Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0, owner }
}

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
  /**
   * The cursor is saved at most this often while events flow (default 500 ms), and at once after
   * `persistEveryEvents` events (default 5000), on taking over from another dispatcher, and on
   * stop. A crash republishes what was published since the last save; consumers drop ids seen.
   */
  persistEveryMs?: number
  persistEveryEvents?: number
  /** How often to prune the outbox (default 60 000 ms). */
  pruneEveryMs?: number
  /** Events after this id are kept whatever the retention (an extension's after-hook cursor). */
  pruneFloor?: () => Promise<number>
  onError?: (error: unknown) => void
}

export type ChangeDispatcher = ReturnType<typeof createChangeDispatcher>

/**
 * Publishes committed outbox events to the bus, in id (= commit) order. One node dispatches at a
 * time (the dispatcher lock); each round reads the events after its cursor and publishes them.
 *
 * The cursor lives in memory and is saved to the store lazily (see `persistEveryMs`): saving it
 * every round was a write transaction per round, about 13% of a create's CPU on SQLite. The saved
 * value names the dispatcher that saved it, so a dispatcher can tell whether its memory is still
 * the truth: when another one (another worker or node, or this process before a restart) saved
 * since, it starts again from the saved id, which may republish what the other published after
 * its own last save, and saves at once to claim the cursor. Publication is thus at least once,
 * never a loss; every consumer drops ids it has seen (the event id is the idempotency key), so
 * each sees an event exactly once.
 */
export function createChangeDispatcher(options: DispatcherOptions) {
  const { store, bus, clock, retention } = options
  const batchSize = options.batchSize ?? 500
  const pruneEveryMs = options.pruneEveryMs ?? 60_000
  const persistEveryMs = options.persistEveryMs ?? 500
  const persistEveryEvents = options.persistEveryEvents ?? 5000
  /** Distinguishes this dispatcher's saves from any other's, across processes and restarts. */
  const owner = randomBytes(9).toString('base64url')
  let running: Promise<void> | undefined
  let stopped = true
  let again = false
  let lastPrune = 0
  let timer: NodeJS.Timeout | undefined
  let flushTimer: NodeJS.Timeout | undefined
  /** The id of the last event this dispatcher published (what the cursor would say if saved). */
  let position = 0
  /** Events published since the last save, and when that save was (0: never, so save first). */
  let unsaved = 0
  let savedAt = 0

  async function round(force = false): Promise<number> {
    const outcome = await store.exclusiveTransaction('dispatcher', async (tx) => {
      const saved = parseDispatchCursor(await tx.getSetting(DISPATCH_CURSOR_KEY))
      const ours = saved.owner === owner && saved.id <= position
      let cursor = ours ? position : saved.id
      const events = await tx.readChanges(cursor, batchSize)
      const last = events.at(-1)
      if (last) {
        await bus.publish(CHANGES_CHANNEL, JSON.stringify(events))
        cursor = last.id
      }
      const pending = (ours ? unsaved : 0) + events.length
      const save =
        cursor !== saved.id &&
        (force || !ours || pending >= persistEveryEvents || Date.now() - savedAt >= persistEveryMs)
      if (save) await tx.setSetting(DISPATCH_CURSOR_KEY, `${cursor}@${owner}`)
      return { cursor, count: events.length, save, pending }
    })
    if (!outcome) return 0
    // Only once committed: a save rolled back leaves the stored cursor as it was.
    position = outcome.cursor
    unsaved = outcome.save ? 0 : outcome.pending
    if (outcome.save) savedAt = Date.now()
    // Events published but not saved while nothing else wakes the dispatcher: save them soon.
    if (unsaved > 0 && !flushTimer) {
      flushTimer = setTimeout(() => {
        flushTimer = undefined
        void wake()
      }, persistEveryMs)
      flushTimer.unref()
    }
    return outcome.count
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
    if (stopped) return Promise.resolve()
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
    /** The id of the last event this dispatcher published (0 before its first round). */
    published: () => position,
    start() {
      stopped = false
      timer = setInterval(() => void wake(), options.pollMs ?? 1000)
      timer.unref()
      void wake()
    },
    async stop() {
      stopped = true
      clearInterval(timer)
      clearTimeout(flushTimer)
      flushTimer = undefined
      await running
      // Saved now, a restart does not republish what this dispatcher already published.
      if (unsaved > 0) await round(true).catch((error: unknown) => options.onError?.(error))
    },
  }
}
