import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import {
  exportPersonalData,
  privacySubject,
  type PrivacyDeps,
} from '../../services/privacy/privacy-export.js'
import { contextOf } from '../plugins/request-context.js'

const exportQuery = Type.Object(
  {
    collection: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' })),
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  },
  { additionalProperties: false },
)

/**
 * `GET /api/privacy/export[?collection=&id=]`: a gzipped tar of everything stored about the
 * signed-in caller (a superuser: about the auth record named), files included.
 */
export const privacyRoutes: FastifyPluginAsync<{ deps: PrivacyDeps; auth: AuthService }> = async (
  app,
  { deps, auth },
) => {
  app.get<{ Querystring: Static<typeof exportQuery> }>(
    '/api/privacy/export',
    { schema: { querystring: exportQuery } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const subject = privacySubject(ctx, deps.registry, request.query)
      const archive = await exportPersonalData(deps, subject)
      return reply
        .header('content-type', 'application/gzip')
        .header(
          'content-disposition',
          `attachment; filename="privacy-export-${subject.collection.name}-${subject.id}.tar.gz"`,
        )
        .header('cache-control', 'no-store')
        .send(archive)
    },
  )
}
