/**
 * The dispatcher's cursor is saved lazily: rounds publish without a write, and the saved cursor
 * names its dispatcher, so a second dispatcher on the same database (another worker or node, or
 * this one restarted after a crash) starts from what was saved: it may republish, never skips.
 * Real stores on both dialects; the bus is in-process, recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import type { Store } from '../../src/adapters/store/store.js'
import { systemClock } from '../../src/core/clock.js'
import {
  CHANGES_CHANNEL,
  createChangeDispatcher,
  DISPATCH_CURSOR_KEY,
  parseDispatchCursor,
} from '../../src/services/realtime/change-dispatcher.js'
import { availableDialects } from '../helpers/dialects.js'
import { openTestStore } from '../helpers/test-engine.js'

const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function writeEvents(store: Store, titles: string[]): Promise<void> {
  for (const title of titles) {
    await store.transaction(async (tx) => {
      tx.recordChange({
        collection: 'posts',
        recordId: title,
        action: 'create',
        record: { id: title, title },
      })
    })
  }
}

/** A dispatcher on `store` whose published event ids are recorded in order. */
function recordedDispatcher(store: Store, persistEveryMs: number) {
  const bus = createInProcessBus()
  const published: number[] = []
  void bus.subscribe(CHANGES_CHANNEL, (message) => {
    for (const event of JSON.parse(message) as { id: number }[]) published.push(event.id)
  })
  const errors: unknown[] = []
  const dispatcher = createChangeDispatcher({
    store,
    bus,
    clock: systemClock,
    retention: {},
    pollMs: 3_600_000, // rounds only when woken
    persistEveryMs,
    onError: (error) => errors.push(error),
  })
  return { dispatcher, published, errors }
}

const savedCursor = async (store: Store) =>
  parseDispatchCursor(await store.getSetting(DISPATCH_CURSOR_KEY))

describe.each(await availableDialects())('lazy dispatch cursor (%s)', (dialect) => {
  async function open() {
    const dir = mkdtempSync(join(tmpdir(), 'er-cursor-'))
    const opened = await openTestStore(dialect, dir)
    cleanups.push(async () => {
      await opened.store.close()
      await opened.drop()
      rmSync(dir, { recursive: true, force: true })
    })
    return opened.store
  }

  it('publishes every round but saves the cursor only when due, and on stop', async () => {
    const store = await open()
    const a = recordedDispatcher(store, 3_600_000)
    a.dispatcher.start()
    await a.dispatcher.wake()
    await writeEvents(store, ['e1'])
    await a.dispatcher.wake()
    // The first round claims the cursor (no save of this dispatcher yet): saved at once.
    const claimed = await savedCursor(store)
    expect(claimed.id).toBe(a.published.at(-1))
    await writeEvents(store, ['e2', 'e3'])
    await a.dispatcher.wake()
    await writeEvents(store, ['e4'])
    await a.dispatcher.wake()
    expect(a.published).toHaveLength(4)
    expect(a.dispatcher.published()).toBe(a.published.at(-1))
    // Three later rounds published without a write: the saved cursor still says e1.
    expect(await savedCursor(store)).toEqual(claimed)
    await a.dispatcher.stop()
    const stopped = await savedCursor(store)
    expect(stopped.id).toBe(a.published.at(-1))
    expect(stopped.owner).toBe(claimed.owner)
    expect(a.errors).toEqual([])
  })

  it('after a crash, the next dispatcher republishes from the saved cursor: nothing is lost', async () => {
    const store = await open()
    const crashed = recordedDispatcher(store, 3_600_000)
    crashed.dispatcher.start()
    await writeEvents(store, ['c1'])
    await crashed.dispatcher.wake()
    await writeEvents(store, ['c2', 'c3'])
    await crashed.dispatcher.wake()
    expect(crashed.published).toHaveLength(3)
    const saved = await savedCursor(store)
    expect(saved.id).toBe(crashed.published[0])
    // "Crashed": never stopped, so its last two events were published but not saved. It is
    // only woken again below, as a second worker would be.
    await writeEvents(store, ['c4'])
    const next = recordedDispatcher(store, 3_600_000)
    next.dispatcher.start()
    await next.dispatcher.wake()
    const last = crashed.published.at(-1) as number
    // Everything after the saved cursor again (c2, c3: duplicates the hub drops), then c4.
    expect(next.published).toEqual([...crashed.published.slice(1), last + 1])
    // It claimed the cursor at once, so the first dispatcher, woken again, starts from there
    // and republishes nothing.
    expect(await savedCursor(store)).toMatchObject({ id: last + 1 })
    expect((await savedCursor(store)).owner).not.toBe(saved.owner)
    await crashed.dispatcher.wake()
    expect(crashed.published).toHaveLength(3)
    await writeEvents(store, ['c5'])
    await crashed.dispatcher.wake()
    expect(crashed.published.at(-1)).toBe(last + 2)
    expect(crashed.published).toHaveLength(4)
    await crashed.dispatcher.stop()
    await next.dispatcher.stop()
    expect([...crashed.errors, ...next.errors]).toEqual([])
  })

  it('saves a quiet dispatcher within persistEveryMs, with no further write', async () => {
    const store = await open()
    const a = recordedDispatcher(store, 100)
    a.dispatcher.start()
    await a.dispatcher.wake()
    await writeEvents(store, ['q1'])
    await a.dispatcher.wake()
    await writeEvents(store, ['q2'])
    await a.dispatcher.wake()
    await expect
      .poll(async () => (await savedCursor(store)).id, { timeout: 5000 })
      .toBe(a.published.at(-1))
    await a.dispatcher.stop()
  })
})
