import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { MailTemplatesService } from '../../services/mail/mail-templates.js'
import { contextOf } from '../plugins/request-context.js'

const nameParams = Type.Object({ name: Type.String({ maxLength: 64 }) })

/** `/api/mail-templates`: read, override, reset and preview the mails the engine sends. */
export const mailTemplatesRoutes: FastifyPluginAsync<{
  mail: MailTemplatesService
  auth: AuthService
}> = async (app, { mail, auth }) => {
  app.get('/api/mail-templates', async (request) => mail.list(await contextOf(request, auth)))

  app.get<{ Params: Static<typeof nameParams> }>(
    '/api/mail-templates/:name',
    { schema: { params: nameParams } },
    async (request) => mail.get(await contextOf(request, auth), request.params.name),
  )

  app.put<{ Params: Static<typeof nameParams> }>(
    '/api/mail-templates/:name',
    { schema: { params: nameParams } },
    async (request) => mail.put(await contextOf(request, auth), request.params.name, request.body),
  )

  app.delete<{ Params: Static<typeof nameParams> }>(
    '/api/mail-templates/:name',
    { schema: { params: nameParams } },
    async (request, reply) => {
      await mail.remove(await contextOf(request, auth), request.params.name)
      return reply.code(204).send()
    },
  )

  app.post<{ Params: Static<typeof nameParams> }>(
    '/api/mail-templates/:name/preview',
    { schema: { params: nameParams } },
    async (request) =>
      mail.preview(await contextOf(request, auth), request.params.name, request.body),
  )
}
