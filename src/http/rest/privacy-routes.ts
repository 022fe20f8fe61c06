import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import {
  exportPersonalData,
  privacySubject,
  type PrivacyDeps,
} from '../../services/privacy/privacy-export.js'
import { erasePersonalData, type EraseDeps } from '../../services/privacy/privacy-erase.js'
import {
  readConsents,
  recordConsent,
  type ConsentDeps,
} from '../../services/privacy/privacy-consents.js'
import { EngineError } from '../../core/errors/index.js'
import { contextOf } from '../plugins/request-context.js'

const exportQuery = Type.Object(
  {
    collection: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' })),
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  },
  { additionalProperties: false },
)

const eraseBody = Type.Object(
  {
    collection: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' })),
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
)

const consentBody = Type.Object(
  {
    purpose: Type.String({ minLength: 1, maxLength: 64 }),
    granted: Type.Boolean(),
    // Named only to be refused below (an unknown member would be dropped silently).
    collection: Type.Optional(Type.String({ maxLength: 64 })),
    id: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
)

/**
 * `GET /api/privacy/export[?collection=&id=]`: a gzipped tar of everything stored about the
 * signed-in caller (a superuser: about the auth record named), files included.
 * `POST /api/privacy/erase` `{ password }` (a superuser: `{ collection, id }`): erases them.
 * `POST /api/privacy/consents` `{ purpose, granted }`: the caller gives or withdraws consent;
 * `GET /api/privacy/consents[?collection=&id=]`: their current consents and history.
 */
export const privacyRoutes: FastifyPluginAsync<{
  deps: PrivacyDeps & Pick<EraseDeps, 'records'> & Omit<ConsentDeps, 'store'>
  auth: AuthService
}> = async (app, { deps, auth }) => {
  app.post<{ Body: Static<typeof consentBody> }>(
    '/api/privacy/consents',
    { schema: { body: consentBody } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      // Only the person consents: a superuser records their own, never someone else's.
      const { purpose, granted, ...other } = request.body
      const named = Object.keys(other)[0]
      if (named !== undefined) {
        throw new EngineError('ER_VALIDATION_FAILED', 'Consent is recorded by the person only.', {
          errors: { [named]: [{ code: 'invalid', message: "consent is the caller's own" }] },
        })
      }
      const subject = privacySubject(ctx, deps.registry, {})
      const state = await recordConsent(
        deps,
        ctx,
        subject,
        { purpose, granted },
        {
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? '',
        },
      )
      return reply.status(201).header('cache-control', 'no-store').send(state)
    },
  )

  app.get<{ Querystring: Static<typeof exportQuery> }>(
    '/api/privacy/consents',
    { schema: { querystring: exportQuery } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const subject = privacySubject(ctx, deps.registry, request.query)
      return reply.header('cache-control', 'no-store').send(await readConsents(deps, subject))
    },
  )

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

  app.post<{ Body: Static<typeof eraseBody> }>(
    '/api/privacy/erase',
    { schema: { body: eraseBody } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      const body = request.body ?? {}
      const subject = privacySubject(ctx, deps.registry, body)
      // Erasing oneself is asked for with the password: a stolen access token must not be
      // enough to destroy an account and its data for good.
      if (body.collection === undefined && body.id === undefined) {
        const [self] = await deps.store.selectByIds(subject.collection, [subject.id])
        if (!self) {
          throw new EngineError('ER_RECORD_NOT_FOUND', 'Your record is gone already.')
        }
        await auth.confirmPassword(subject.collection, self, body.password, {
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? '',
        })
      }
      return erasePersonalData(deps, ctx, subject)
    },
  )
}
