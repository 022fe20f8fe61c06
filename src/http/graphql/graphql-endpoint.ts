import type { RealtimeService } from '../../services/realtime/realtime-service.js'
import type { RecordsService } from '../../services/records/records-service.js'
import { createDocumentCache } from '../../graphql/document-cache.js'
import { createGraphqlSchemaSource } from '../../graphql/graphql-schema.js'
import { DEFAULT_GRAPHQL_LIMITS, type GraphqlLimits } from '../../graphql/limits.js'
import { subscriptionFields } from '../../graphql/subscriptions.js'
import { createGraphqlHttpHandler, type GraphqlHttpOptions } from './graphql-http-handler.js'
import { createGraphqlWsServer, type GraphqlWsOptions } from './graphql-ws.js'

export interface GraphqlEndpointDeps
  extends
    Pick<GraphqlHttpOptions, 'registry' | 'auth'>,
    Pick<GraphqlWsOptions, 'maxPayload' | 'onInternalError' | 'connections'> {
  records: RecordsService
  /** Subscriptions run on it; without it the schema has none. */
  realtime?: RealtimeService | undefined
  /** Overrides of DEFAULT_GRAPHQL_LIMITS. */
  limits?: Partial<GraphqlLimits> | undefined
}

export type GraphqlEndpoint = ReturnType<typeof createGraphqlEndpoint>

/**
 * Everything behind `/graphql` that needs graphql-js: the schema source per visibility class,
 * the document cache, and the HTTP and WebSocket handlers sharing them. server.ts imports this
 * module at the first GraphQL request or upgrade (graphql-js, graphql-http, graphql-ws and ws
 * are about 150 modules a server that never sees GraphQL need not hold).
 *
 * @example
 *   const graphql = createGraphqlEndpoint({ registry, records, auth, connections, maxPayload })
 *   await graphql.http(request, reply)
 */
export function createGraphqlEndpoint(deps: GraphqlEndpointDeps) {
  const { registry, records, auth, realtime } = deps
  const schema = createGraphqlSchemaSource({
    registry,
    records,
    auth,
    ...(realtime
      ? { subscriptionFields: (types) => subscriptionFields(types, { realtime, records }) }
      : {}),
  })
  const limits = { ...DEFAULT_GRAPHQL_LIMITS, ...deps.limits }
  const documents = createDocumentCache()
  return {
    http: createGraphqlHttpHandler({ schema, registry, auth, limits, documents }),
    ws: createGraphqlWsServer({
      schema,
      auth,
      limits,
      documents,
      maxPayload: deps.maxPayload,
      onInternalError: deps.onInternalError,
      connections: deps.connections,
    }),
  }
}
