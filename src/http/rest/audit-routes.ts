import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { Store } from '../../adapters/store/store.js'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import { contextOf } from '../plugins/request-context.js'

const auditQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    perPage: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]?|[1-4][0-9]{2}|500)$' })),
  },
  { additionalProperties: false },
)

/**
 * `GET /api/audit[?after=<seq>&perPage=]`: the audit log oldest first, for superusers (not API
 * keys). `next` is the `after` of the following page, absent on the last.
 */
export const auditRoutes: FastifyPluginAsync<{ store: Store; auth: AuthService }> = async (
  app,
  { store, auth },
) => {
  app.get<{ Querystring: Static<typeof auditQuery> }>(
    '/api/audit',
    { schema: { querystring: auditQuery } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      if (!ctx.auth) throw new EngineError('ER_AUTH_REQUIRED', 'Sign in as a superuser.')
      if (!ctx.auth.isSuperuser || ctx.auth.apiKey) {
        throw new EngineError('ER_FORBIDDEN', 'Only superusers may read the audit log.')
      }
      // Query strings arrive as text; the patterns above bound them (perPage 1-500).
      const perPage = Number(request.query.perPage ?? 100)
      const rows = await store.audit.page(Number(request.query.after ?? 0), perPage + 1)
      const items = rows.slice(0, perPage).map((row) => ({
        ...row,
        detail: JSON.parse(row.detail) as unknown,
      }))
      const last = items.at(-1)
      return { items, ...(rows.length > perPage && last ? { next: last.seq } : {}) }
    },
  )
}
