import type { Cluster, Worker } from 'node:cluster'
import type { Bus } from '../bus.js'

/** The IPC message that carries one bus message between a worker and the primary. */
interface BusEnvelope {
  type: 'engineroom:bus'
  channel: string
  message: string
}

function isEnvelope(value: unknown): value is BusEnvelope {
  return (value as BusEnvelope | null)?.type === 'engineroom:bus'
}

/**
 * The bus of one `serve --workers N` machine: a worker sends each message to the primary over
 * the cluster IPC channel, and the primary relays it to every worker, the sender included (so
 * every worker sees one order: the primary's). Messages are lost if a worker dies; realtime
 * backfills those from the outbox.
 */
export function createClusterBus(channel: NodeJS.Process = process): Bus {
  if (!channel.send) throw new Error('createClusterBus runs in a cluster worker')
  const handlers = new Map<string, Set<(message: string) => void>>()
  const onMessage = (value: unknown) => {
    if (!isEnvelope(value)) return
    for (const handler of handlers.get(value.channel) ?? []) handler(value.message)
  }
  channel.on('message', onMessage)
  return {
    async publish(name, message) {
      const envelope: BusEnvelope = { type: 'engineroom:bus', channel: name, message }
      channel.send?.(envelope)
    },
    async subscribe(name, handler) {
      let set = handlers.get(name)
      if (!set) handlers.set(name, (set = new Set()))
      set.add(handler)
      return async () => {
        set.delete(handler)
      }
    },
    async close() {
      handlers.clear()
      channel.off('message', onMessage)
    },
  }
}

/** In the primary: relays every worker's bus messages to all workers. */
export function relayClusterBus(cluster: Cluster): void {
  cluster.on('message', (_from: Worker, value: unknown) => {
    if (!isEnvelope(value)) return
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(value)
    }
  })
}
