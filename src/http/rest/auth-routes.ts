import type { Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AuthService } from '../../services/auth/auth-service.js'
import type { TokenSigner } from '../../services/auth/token-signer.js'
import { nameParams } from './route-schemas.js'

/** Password sign-in for auth collections, and the public keys that verify its tokens. */
export const authRoutes: FastifyPluginAsync<{ auth: AuthService; tokens: TokenSigner }> = async (
  app,
  { auth, tokens },
) => {
  app.post<{ Params: Static<typeof nameParams> }>(
    '/api/collections/:name/auth/password',
    { schema: { params: nameParams } },
    async (request) => auth.loginWithPassword(request.params.name, request.body),
  )

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: tokens.publicJwks() }
  })
}
