import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { GraphQLError, getOperationAST } from 'graphql'
import type { Context, ServerOptions } from 'graphql-ws'
import { useServer, type Extra } from 'graphql-ws/use/ws'
import { WebSocketServer } from 'ws'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RequestContext } from '../../services/context.js'
import {
  userKeyOf,
  type RealtimeConnection,
  type RealtimeConnections,
} from '../../services/realtime/realtime-connections.js'
import {
  formatGraphqlError,
  graphqlError,
  isInternalError,
  withoutSuggestions,
} from '../../graphql/graphql-errors.js'
import type { DocumentCache } from '../../graphql/document-cache.js'
import type { GraphqlSchemaSource } from '../../graphql/graphql-schema.js'
import { limitRules, limitRulesKey, type GraphqlLimits } from '../../graphql/limits.js'
import type { GraphqlContext } from '../../graphql/operations.js'
import { bearerTokenOf, requestIdFrom } from '../plugins/request-context.js'
import type { RealtimeFailure } from '../ops/realtime-failures.js'

export interface GraphqlWsOptions {
  schema: GraphqlSchemaSource
  auth: AuthService
  limits: GraphqlLimits
  documents: DocumentCache
  /** Largest message in bytes (the HTTP body limit). */
  maxPayload: number
  /** Told of each server-side failure of an operation (logged and counted by the caller). */
  onInternalError?: ((failure: RealtimeFailure) => void) | undefined
  /** The realtime connections of this process (per-connection operation cap). */
  connections: RealtimeConnections
}

/** The WebSocket side of `/graphql`, handed its upgrades by `registerGraphqlWs`. */
export interface GraphqlWsServer {
  /**
   * Completes the handshake of an upgrade that holds its connection `slot`, or closes the socket
   * at once with 4429 when the slot was refused.
   */
  accept(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    slot: RealtimeConnection | EngineError,
  ): void
  /** Closes every socket (1001): before the HTTP server closes, they are not its connections. */
  closeClients(): void
  dispose(): Promise<void>
}

// The token the connection signed in with, and its id in logs.
type WsExtra = { token?: string; connectionId?: string }
type Ctx = Context<Record<string, unknown> | undefined, Extra & WsExtra>
type ServerHooks = ServerOptions<Record<string, unknown> | undefined, Extra & WsExtra>

/**
 * The close code of a socket refused by a realtime limit. graphql-ws reserves 4429 ("Too many
 * initialisation requests") and its client treats it as fatal: a refused client does not retry
 * in a loop.
 */
export const WS_TOO_MANY_REQUESTS = 4429

/**
 * GraphQL subscriptions over WebSocket (the graphql-ws protocol, subprotocol
 * `graphql-transport-ws`) on `/graphql`; queries and mutations are refused there. The token comes in `connectionParams.authorization`
 * (`Bearer <token>`; browsers cannot set headers on a WebSocket) or the upgrade request's
 * Authorization header; a bad token closes the connection (4403), and every operation
 * re-checks it, so a revoked session stops at its next operation (and its open subscriptions
 * end through the realtime hub). Operations pass the same limits as over HTTP. Each socket is
 * one realtime connection, counted with the SSE streams against the limits per client address
 * and in total from its upgrade, per user from `connection_init`; past one it is closed with
 * 4429, and past `maxSubscriptionsPerConnection` operations the one over gets ER_RATE_LIMITED.
 */
export function createGraphqlWsServer(options: GraphqlWsOptions): GraphqlWsServer {
  const { schema, auth, limits } = options
  const maxOperations = options.connections.limits.maxSubscriptionsPerConnection
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload })
  const slots = new WeakMap<IncomingMessage, RealtimeConnection>()
  const slotOf = (ctx: Ctx): RealtimeConnection => {
    const slot = slots.get(ctx.extra.request)
    // Only sockets that got a slot are handed to graphql-ws.
    if (!slot) throw new Error('a GraphQL WebSocket without a connection slot')
    return slot
  }

  const report = (ctx: Ctx, id: string, errors: readonly GraphQLError[]) =>
    reportInternal(options, ctx, id, errors)
  const server = useServer<Record<string, unknown> | undefined, WsExtra>(
    isolateOperations(options, {
      onConnect: async (ctx: Ctx) => {
        // Each operation's request id is this plus its id (which is only unique per socket).
        ctx.extra.connectionId = requestIdFrom(ctx.extra.request.headers['x-request-id'])
        const token = tokenOf(ctx)
        if (token === null) return false
        if (token !== undefined) {
          let identity
          try {
            identity = await auth.identify(token)
          } catch {
            return false
          }
          try {
            await slotOf(ctx).identify(userKeyOf(identity))
          } catch (error) {
            if (!(error instanceof EngineError)) throw error
            // graphql-ws then closes with 4403, which a socket already closing ignores.
            ctx.extra.socket.close(WS_TOO_MANY_REQUESTS, closeReason(error))
            return false
          }
          ctx.extra.token = token
        }
        return true
      },
      onSubscribe: async (ctx: Ctx, id, payload) => {
        // graphql-ws lists this operation's id in `subscriptions` before it calls onSubscribe:
        // the others are what runs already.
        if (Object.keys(ctx.subscriptions).length - 1 >= maxOperations) {
          return [
            graphqlError(
              'ER_RATE_LIMITED',
              `At most ${maxOperations} operations at once on one connection.`,
            ),
          ]
        }
        let context: GraphqlContext
        try {
          context = await contextFor(auth, ctx, id, slotOf(ctx))
        } catch (error) {
          if (!(error instanceof EngineError)) throw error
          return [formatGraphqlError(new GraphQLError(error.message, { originalError: error }))]
        }
        const current = await schema(context.ctx)
        let document
        try {
          document = options.documents.parse(payload.query)
        } catch (error) {
          return [formatGraphqlError(error as GraphQLError)]
        }
        const variables = payload.variables ?? {}
        const errors = options.documents.validate(
          current,
          document,
          limitRules(limits, variables),
          limitRulesKey(variables),
        )
        if (errors.length > 0) {
          const shown = limits.introspection ? errors : withoutSuggestions(errors)
          return shown.map(formatGraphqlError)
        }
        const operation = getOperationAST(document, payload.operationName)
        if (!operation) {
          return [graphqlError('ER_GRAPHQL_INVALID', 'The document has no such operation.')]
        }
        // Queries and mutations go over HTTP, where rate limits, CSRF checks and logs apply.
        if (operation.operation !== 'subscription') {
          return [
            graphqlError(
              'ER_GRAPHQL_INVALID',
              'Only subscriptions run over WebSocket; send queries and mutations to POST /graphql.',
            ),
          ]
        }
        return {
          schema: current,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue: context,
        }
      },
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors) return undefined
        report(ctx, id, result.errors)
        return { ...result, errors: result.errors.map(formatGraphqlError) }
      },
      onError: (ctx, id, _payload, errors) => {
        report(ctx, id, errors)
        return errors.map(formatGraphqlError)
      },
    }),
    wss,
  )

  return {
    accept(request, socket, head, slot) {
      if (!(slot instanceof EngineError)) slots.set(request, slot)
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (slot instanceof EngineError) ws.close(WS_TOO_MANY_REQUESTS, closeReason(slot))
        else wss.emit('connection', ws, request)
      })
    },
    closeClients() {
      for (const client of wss.clients) client.close(1001, 'Server shutting down')
    },
    async dispose() {
      await server.dispose()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}

/**
 * The connection's token: from connectionParams, else the upgrade request's header; undefined
 * when none was sent (anonymous), null when one was sent but is malformed.
 */
function tokenOf(ctx: Ctx): string | undefined | null {
  const params = ctx.connectionParams ?? {}
  const raw =
    typeof params.authorization === 'string'
      ? params.authorization
      : typeof params.Authorization === 'string'
        ? params.Authorization
        : ctx.extra.request.headers.authorization
  if (raw === undefined) return undefined
  return bearerTokenOf(raw)
}

/**
 * An operation whose preparation throws fails alone: graphql-ws would print the error to
 * stderr and close the socket, ending the connection's other subscriptions with it.
 */
function isolateOperations(options: GraphqlWsOptions, hooks: ServerHooks): ServerHooks {
  const prepare = hooks.onSubscribe
  if (!prepare) return hooks
  return {
    ...hooks,
    onSubscribe: async (ctx, id, payload) => {
      try {
        return await prepare(ctx, id, payload)
      } catch (error) {
        const failed = new GraphQLError('internal', {
          originalError: error instanceof Error ? error : new Error(String(error)),
        })
        reportInternal(options, ctx, id, [failed])
        return [formatGraphqlError(failed)]
      }
    },
  }
}

/** Logs and counts the errors that are the server's fault (the client sees only their code). */
function reportInternal(
  options: GraphqlWsOptions,
  ctx: Ctx,
  id: string,
  errors: readonly GraphQLError[],
): void {
  for (const error of errors) {
    if (!isInternalError(error)) continue
    options.onInternalError?.({
      requestId: requestIdOf(ctx, id),
      reason: 'graphql_failed',
      error: error.originalError,
    })
  }
}

/** `<connection id>:<operation id>`; the connection's comes from its upgrade's X-Request-Id. */
function requestIdOf(ctx: Ctx, id: string): string {
  return `${ctx.extra.connectionId ?? 'ws'}:${id}`
}

async function contextFor(
  auth: AuthService,
  ctx: Ctx,
  id: string,
  connection: RealtimeConnection,
): Promise<GraphqlContext> {
  const token = ctx.extra.token
  const identity = token !== undefined ? await auth.identify(token) : null
  const request = ctx.extra.request
  const requestContext: RequestContext = {
    auth: identity,
    requestId: requestIdOf(ctx, id),
    query: {},
  }
  return {
    ctx: requestContext,
    client: { ip: connection.address, userAgent: request.headers['user-agent'] ?? '' },
    connection,
    ...(token !== undefined ? { token } : {}),
  }
}

/** A close frame's reason is at most 123 bytes (RFC 6455 §5.5): the detail, clipped. */
function closeReason(error: EngineError): string {
  const reason = Buffer.from(`Too many requests: ${error.message}`)
  return reason
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, '')
}
