import type { Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import { contextOf } from '../plugins/request-context.js'
import { nameParams } from './route-schemas.js'

type NameParams = Static<typeof nameParams>

/**
 * E-mail flows of auth collections. Every answer is 204 with no body: the request endpoints say
 * the same whether or not the address has an account.
 */
export const authEmailRoutes: FastifyPluginAsync<{ auth: AuthService }> = async (app, { auth }) => {
  const base = '/api/collections/:name/auth'
  const opts = { schema: { params: nameParams } }

  app.post<{ Params: NameParams }>(`${base}/request-verification`, opts, async (request, reply) => {
    await auth.email.requestVerification(request.params.name, request.body)
    return reply.status(204).send()
  })
  app.post<{ Params: NameParams }>(`${base}/verify-email`, opts, async (request, reply) => {
    await auth.email.verifyEmail(request.params.name, request.body)
    return reply.status(204).send()
  })
  app.post<{ Params: NameParams }>(
    `${base}/request-password-reset`,
    opts,
    async (request, reply) => {
      await auth.email.requestPasswordReset(request.params.name, request.body)
      return reply.status(204).send()
    },
  )
  app.post<{ Params: NameParams }>(`${base}/reset-password`, opts, async (request, reply) => {
    await auth.email.resetPassword(request.params.name, request.body)
    return reply.status(204).send()
  })
  app.post<{ Params: NameParams }>(`${base}/request-email-change`, opts, async (request, reply) => {
    const identity = (await contextOf(request, auth)).auth
    await auth.email.requestEmailChange(request.params.name, identity, request.body)
    return reply.status(204).send()
  })
  app.post<{ Params: NameParams }>(`${base}/confirm-email-change`, opts, async (request, reply) => {
    await auth.email.confirmEmailChange(request.params.name, request.body, {
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? '',
    })
    return reply.status(204).send()
  })
}
