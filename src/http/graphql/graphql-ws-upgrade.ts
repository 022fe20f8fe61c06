import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type {
  RealtimeConnection,
  RealtimeConnections,
} from '../../services/realtime/realtime-connections.js'
import type { GraphqlWsServer } from './graphql-ws.js'

export interface GraphqlWsUpgradeOptions {
  /** The WebSocket server (graphql-ws over ws), loaded with GraphQL at the first use. */
  server(): Promise<GraphqlWsServer>
  /** The realtime connections of this process: each socket is one, beside the SSE streams. */
  connections: RealtimeConnections
  /** The client address of an upgrade request, derived as Fastify's `request.ip` is (ER_TRUST_PROXY). */
  clientAddress(request: IncomingMessage): string
}

/**
 * Takes the HTTP server's upgrades for `/graphql` (any other path is destroyed) and hands them to
 * the GraphQL WebSocket server (graphql-ws.ts), which the first upgrade loads. The connection
 * slot is taken here, before the handshake (per address and in total; per user once the socket
 * says who it is) and freed when the TCP socket closes, however the handshake ends.
 *
 * @example
 *   registerGraphqlWs(app, { server: () => graphql().then((g) => g.ws), connections, clientAddress })
 */
export function registerGraphqlWs(app: FastifyInstance, options: GraphqlWsUpgradeOptions): void {
  let loaded: GraphqlWsServer | undefined
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/graphql' && path !== '/graphql/') {
      socket.destroy()
      return
    }
    let slot: RealtimeConnection | EngineError
    try {
      const opened = options.connections.open('ws', options.clientAddress(request))
      socket.once('close', () => opened.close())
      slot = opened
    } catch (error) {
      if (!(error instanceof EngineError)) throw error
      slot = error
    }
    if (loaded) return loaded.accept(request, socket, head, slot)
    options.server().then(
      (server) => {
        loaded = server
        server.accept(request, socket, head, slot)
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'GraphQL over WebSocket could not start')
        socket.destroy()
      },
    )
  })

  app.addHook('preClose', async () => loaded?.closeClients())
  app.addHook('onClose', async () => loaded?.dispose())
}
