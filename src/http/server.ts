import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Engine } from '../services/create-engine.js'
import { healthRoutes, type ReadinessCheck } from './ops/health-routes.js'
import { registerProblemDetails, replyFrameworkError } from './plugins/problem-details.js'
import { registerRequestId, requestIdFrom } from './plugins/request-context.js'
import { realtimeRoutes } from './realtime/realtime-routes.js'
import { authRoutes } from './rest/auth-routes.js'
import { collectionsRoutes } from './rest/collections-routes.js'
import { openApiRoutes } from './rest/openapi-routes.js'
import { recordsRoutes } from './rest/records-routes.js'

export interface ServerOptions {
  /** Largest request body in bytes (default 1 MiB); larger is a 413. */
  bodyLimit?: number
  logger?: FastifyServerOptions['logger']
  /** Extra readiness checks (Redis, …) beside the store's. */
  readinessChecks?: ReadinessCheck[]
}

/**
 * Builds the HTTP app over an engine. It never listens: the CLI does, and tests use `inject`.
 *
 * @example
 *   const app = await buildServer(engine)
 *   const res = await app.inject({ method: 'GET', url: '/healthz' })
 */
export async function buildServer(
  engine: Engine,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    // Path parameters longer than this never match a route (names ≤ 63, ids ≤ 64 characters).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { allErrors: true, coerceTypes: false } },
    frameworkErrors: replyFrameworkError,
  })
  registerProblemDetails(app)
  registerRequestId(app)
  // Only JSON bodies exist in this API; everything else is a 415 from Fastify itself.
  app.removeContentTypeParser(['text/plain'])

  const { auth } = engine
  await app.register(healthRoutes, {
    checks: [
      { name: 'store', check: () => engine.store.ping() },
      ...(options.readinessChecks ?? []),
    ],
  })
  await app.register(collectionsRoutes, { schema: engine.schema, auth })
  await app.register(recordsRoutes, { records: engine.records, auth })
  await app.register(authRoutes, { auth, tokens: engine.tokens })
  if (engine.realtime) {
    const { service, hub } = engine.realtime
    await app.register(realtimeRoutes, { realtime: service, hub, auth })
  }
  await app.register(openApiRoutes, {
    listCollections: async () => {
      await engine.registry.refreshIfStale()
      return engine.registry.list()
    },
  })
  return app
}
