import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit'
import { parse } from 'graphql'
import { createClient } from 'graphql-ws'

/** The server's GraphQL endpoint: HTTP for queries and mutations, WebSocket for subscriptions. */
const ENDPOINT = '/graphql'

export interface ExplorerFetcher {
  fetcher: Fetcher
  /** Closes the subscription socket, if one was opened. */
  dispose(): void
}

/**
 * GraphiQL's fetcher, running every operation as `token`'s holder (the signed-in dashboard user)
 * or anonymously when there is none. An `Authorization` header typed in GraphiQL's Headers tab
 * wins over the dashboard's token, so a superuser can try a query as another user.
 *
 * Subscriptions go over graphql-ws on the same path: browsers cannot set headers on a
 * WebSocket, so the token travels in `connectionParams`, as the server reads it. The Headers tab
 * does not reach a socket: subscriptions run as the dashboard's user.
 *
 * @example
 *   const { fetcher, dispose } = createExplorerFetcher(currentToken())
 *   <GraphiQL fetcher={fetcher} />  // and dispose() when the token changes or the page closes
 */
export function createExplorerFetcher(token: string | null): ExplorerFetcher {
  const bearer = token ? `Bearer ${token}` : undefined
  const fetchAsUser: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers)
    if (bearer && !headers.has('authorization')) headers.set('authorization', bearer)
    const response = await fetch(input, { ...init, headers })
    // The dashboard's session ended (expired, revoked): the shell goes back to sign-in.
    if (response.status === 401 && bearer && headers.get('authorization') === bearer) {
      window.dispatchEvent(new Event('engineroom:signed-out'))
    }
    return response
  }
  const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${ENDPOINT}`
  // `lazy`: no socket until the first subscription, and none kept once the last one ends.
  const socket = createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: bearer ? { authorization: bearer } : {},
  })
  const fetcher = createGraphiQLFetcher({
    url: ENDPOINT,
    fetch: fetchAsUser,
    // The server answers single results (no @defer / @stream), so plain JSON is enough.
    enableIncrementalDelivery: false,
    wsClient: socket,
  })
  return {
    fetcher: withDocument(fetcher),
    dispose() {
      void socket.dispose()
    },
  }
}

/**
 * The fetcher picks the WebSocket for a subscription by looking at the parsed document GraphiQL
 * passes along; GraphiQL parses the editor's text a moment after each keystroke, so a query run
 * straight after typing arrives with the document before it (or none), and a subscription
 * would go over HTTP, where the server refuses it. The text actually sent is parsed here
 * instead; one that does not parse goes on as it is, for the server to name the syntax error.
 */
function withDocument(fetcher: Fetcher): Fetcher {
  return (params, options) => {
    let documentAST
    try {
      documentAST = parse(params.query)
    } catch {
      return fetcher(params, options)
    }
    return fetcher(params, { ...options, documentAST })
  }
}
