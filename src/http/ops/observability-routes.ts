import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { RequestContext } from '../../services/context.js'
import { contextOf } from '../plugins/request-context.js'
import { LOG_LEVELS, type LogLevelName, type LogRing } from './log-ring.js'
import type { MetricsHistory } from './metrics-history.js'

const logsQuery = Type.Object(
  {
    level: Type.Optional(Type.Union(Object.keys(LOG_LEVELS).map((l) => Type.Literal(l)))),
    route: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.String({ pattern: '^(?:[1-5][0-9]{2}|[1-5]xx)$' })),
    requestId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' })),
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$' })),
  },
  { additionalProperties: false },
)

/** Superusers signed in as such: these show every caller's traffic (not for API keys). */
function requireOperator(ctx: RequestContext): void {
  if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser.')
  if (!ctx.auth.isSuperuser || ctx.auth.apiKey) {
    throw new EngineError('ER_FORBIDDEN', 'Only superusers may read metrics and logs.')
  }
}

/**
 * The dashboard's observability, for this process (with `--workers`, the worker that answers):
 * - `GET /api/admin/metrics`: the last hour sampled every 10 s (metrics-history.ts), oldest
 *   first, and the interval under way as `current`;
 * - `GET /api/admin/logs[?level=&route=&status=&requestId=&limit=]`: recent log lines newest
 *   first, as redacted as stdout's. `capturing` is false when the server runs without a logger.
 */
export const observabilityRoutes: FastifyPluginAsync<{
  auth: AuthService
  history: MetricsHistory
  logs?: LogRing | undefined
}> = async (app, { auth, history, logs }) => {
  app.get('/api/admin/metrics', async (request, reply) => {
    requireOperator(await contextOf(request, auth))
    reply.header('cache-control', 'no-store')
    return history.read()
  })

  app.get<{ Querystring: Static<typeof logsQuery> }>(
    '/api/admin/logs',
    { schema: { querystring: logsQuery } },
    async (request, reply) => {
      requireOperator(await contextOf(request, auth))
      reply.header('cache-control', 'no-store')
      const { level, route, status, requestId, limit } = request.query
      const items =
        logs?.query({
          ...(level ? { level: level as LogLevelName } : {}),
          ...(route ? { route } : {}),
          ...(status ? { status } : {}),
          ...(requestId ? { requestId } : {}),
          limit: Number(limit ?? 200),
        }) ?? []
      return { capturing: logs !== undefined, items }
    },
  )
}
