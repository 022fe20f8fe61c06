/**
 * The bus port: fire-and-forget messages to every node (and worker) of one deployment.
 * Delivery is at most once and in publish order per publisher; whoever needs more (realtime)
 * numbers its messages and backfills gaps from the store.
 *
 * Implementations: in-process (`in-process/`), node:cluster IPC relayed by the primary
 * (`cluster/`), Redis pub/sub (`redis/`). Only `main.ts` picks one.
 */
export interface Bus {
  /** Sends `message` to every subscriber of `channel`, on every node, this one included. */
  publish(channel: string, message: string): Promise<void>
  /** Calls `handler` for each message on `channel`; the returned function unsubscribes. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}
