/**
 * A TCP proxy on loopback that a test can cut and restore, to make PostgreSQL or Redis
 * unreachable for one client without touching the machine's services.
 */
import { createServer, connect, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** Drops every open connection and refuses new ones (accepted, then reset at once). */
  cut(): void
  restore(): void
  /**
   * The next answer the target sends (to any connection) never arrives: that connection is
   * closed instead, as when a network fails after the server did the work but before its reply.
   */
  dropNextReply(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let open = true
  let dropNext = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (dropNext) {
        dropNext = false
        client.destroy()
        upstream.destroy()
      } else if (!client.write(chunk)) {
        upstream.pause()
        client.once('drain', () => upstream.resume())
      }
    })
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return {
    port: address.port,
    cut() {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    restore() {
      open = true
    },
    dropNextReply() {
      dropNext = true
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Polls `probe` until it returns true, or fails after `timeoutMs`. */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await probe()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`)
}
