/**
 * A real graphql-ws client over a real socket, for tests: connects (optionally with extra
 * headers on the upgrade request, as a proxy would add), reports whether the server accepted
 * the connection or closed it with which code, and collects what subscriptions receive.
 */
import { createClient, type Client } from 'graphql-ws'
import WebSocket from 'ws'

export interface Received {
  values: Record<string, unknown>[]
  errors: { message?: string; extensions?: { code?: string } }[]
  completed: boolean
  /** Stops the subscription (graphql-ws `complete` from the client). */
  stop(): void
}

export interface GraphqlWsConnection {
  client: Client
  /** True once the server acknowledged `connection_init`. */
  accepted: boolean
  /** Set once the socket closed. */
  close?: { code: number; reason: string }
  subscribe(query: string, variables?: Record<string, unknown>): Received
  /** Closes the socket and waits until it is closed. */
  dispose(): Promise<void>
}

/**
 * Resolves once the server has either acknowledged the connection or closed it.
 *
 * @example
 *   const ws = await connectGraphqlWs(`${base.replace('http', 'ws')}/graphql`, { token })
 *   expect(ws.close?.code).toBe(4429)
 */
export async function connectGraphqlWs(
  url: string,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<GraphqlWsConnection> {
  const headers = options.headers ?? {}
  // The headers go on the HTTP upgrade request, where a reverse proxy puts X-Forwarded-For.
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers })
    }
  }
  let settle: () => void = () => {}
  const settled = new Promise<void>((resolve) => (settle = resolve))
  let onClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => (onClosed = resolve))
  const connection: GraphqlWsConnection = {
    client: createClient({
      url,
      webSocketImpl: WithHeaders,
      lazy: false,
      retryAttempts: 0,
      connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
      onNonLazyError: () => {},
      on: {
        connected: () => {
          connection.accepted = true
          settle()
        },
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string }
          connection.close = { code, reason: String(reason) }
          settle()
          onClosed()
        },
      },
    }),
    accepted: false,
    subscribe(query, variables) {
      const received: Received = { values: [], errors: [], completed: false, stop: () => {} }
      received.stop = connection.client.subscribe(
        { query, ...(variables ? { variables } : {}) },
        {
          next: (value) => {
            if (value.errors) received.errors.push(...(value.errors as Received['errors']))
            if (value.data) received.values.push(value.data as Record<string, unknown>)
          },
          error: (error) =>
            received.errors.push(
              ...(Array.isArray(error) ? error : [error as { message?: string }]),
            ),
          complete: () => (received.completed = true),
        },
      )
      return received
    },
    async dispose() {
      if (connection.close) return
      await connection.client.dispose()
      await closed
    },
  }
  await settled
  return connection
}

/** Polls `check` every 25 ms for up to 10 s. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}
