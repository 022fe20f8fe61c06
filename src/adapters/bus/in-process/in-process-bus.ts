import type { Bus } from '../bus.js'

/**
 * The embedded mode's bus: subscribers in this process only. Messages are delivered on a later
 * microtask, as a network bus would, so a publisher never runs subscribers inside its own call.
 *
 * @example
 *   const bus = createInProcessBus()
 *   await bus.subscribe('changes', (m) => console.log(m))
 *   await bus.publish('changes', 'hello')
 */
export function createInProcessBus(): Bus & { deliver(channel: string, message: string): void } {
  const handlers = new Map<string, Set<(message: string) => void>>()
  function deliver(channel: string, message: string): void {
    for (const handler of handlers.get(channel) ?? []) handler(message)
  }
  return {
    deliver,
    async publish(channel, message) {
      queueMicrotask(() => deliver(channel, message))
    },
    async subscribe(channel, handler) {
      let set = handlers.get(channel)
      if (!set) handlers.set(channel, (set = new Set()))
      set.add(handler)
      return async () => {
        set.delete(handler)
      }
    },
    async close() {
      handlers.clear()
    },
  }
}
