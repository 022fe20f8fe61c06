import type { FastifyPluginAsync } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RouteReply, RouteRequest } from '../../services/extensions/extension-api.js'
import type { ExtensionRoute } from '../../services/extensions/extension-registrations.js'
import {
  callerOf,
  createRecordsClient,
  sudoContext,
} from '../../services/extensions/records-client.js'
import type { RecordsService } from '../../services/records/records-service.js'
import type { SchemaRegistry } from '../../services/schema/schema-registry.js'
import { contextOf } from '../plugins/request-context.js'

/**
 * An extension's routes (`er.route`). Each is a Fastify route whose TypeBox schemas validate the
 * request (a mismatch is a 400 problem naming the field) before the handler runs with the caller
 * (from the same token checks as every route), `records` acting as that caller and `sudo` as a
 * superuser. A return value is a 200 JSON body, `undefined` a 204, `er.reply(…)` its own status;
 * `er.problem(…)` thrown is that problem, anything else a 500 with the stack in the log.
 */
export const extensionRoutes: FastifyPluginAsync<{
  /** Read per request: `engineroom dev` swaps in new handlers. */
  routes: () => readonly ExtensionRoute[]
  records: RecordsService
  registry: SchemaRegistry
  auth: AuthService
}> = async (app, { routes, records, registry, auth }) => {
  for (const route of routes()) {
    const { schema } = route
    app.route({
      method: route.method,
      url: route.path,
      schema: {
        ...(schema.params ? { params: schema.params } : {}),
        ...(schema.query ? { querystring: schema.query } : {}),
        ...(schema.body ? { body: schema.body } : {}),
      },
      handler: async (request, reply) => {
        const ctx = await contextOf(request, auth)
        const req: RouteRequest = {
          method: route.method,
          caller: callerOf(ctx),
          params: request.params as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
          body: request.body,
          headers: request.headers,
          requestId: ctx.requestId,
          records: createRecordsClient(records, ctx),
          sudo: createRecordsClient(records, sudoContext(registry, ctx)),
        }
        // The handler of the extension as (re)loaded now; a route since removed is gone.
        const current = routes().find((r) => r.method === route.method && r.path === route.path)
        if (!current) {
          throw new EngineError('ER_ROUTE_NOT_FOUND', `No route ${route.method} ${route.path}.`)
        }
        const result = await current.handler(req)
        if (isReply(result)) {
          if (result.headers) reply.headers(result.headers)
          reply.status(result.status)
          return result.body === undefined ? reply.send() : reply.send(result.body)
        }
        if (result === undefined) return reply.status(204).send()
        return reply.status(200).send(result)
      },
    })
  }
}

function isReply(value: unknown): value is RouteReply {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'engineroom.reply'
  )
}
