import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { OAuthService } from '../../services/auth/auth-oauth.js'
import { nameParams } from './route-schemas.js'

const providerParams = Type.Object({
  name: nameParams.properties.name,
  provider: Type.String({ pattern: '^[a-z0-9_-]{1,40}$' }),
})
type ProviderParams = Static<typeof providerParams>
const startQuery = Type.Object({ redirect: Type.Optional(Type.String({ maxLength: 2000 })) })
const callbackQuery = Type.Record(Type.String(), Type.String({ maxLength: 4096 }))

/** The browser-binding cookie of a sign-in in progress. */
const BINDER_COOKIE = 'er_oauth'

export interface AuthOAuthRoutesOptions {
  oauth: OAuthService
}

function binderOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === BINDER_COOKIE) return value.join('=')
  }
  return undefined
}

/**
 * Scoped to this provider's paths and living as long as a state. SameSite=Lax, not Strict: the
 * callback is a top-level navigation coming from the provider's site, and must carry it.
 */
function setBinder(request: FastifyRequest, reply: FastifyReply, value: string, maxAge: number) {
  const { name, provider } = request.params as ProviderParams
  const secure = request.protocol === 'https' ? '; Secure' : ''
  reply.header(
    'set-cookie',
    `${BINDER_COOKIE}=${value}; Path=/api/collections/${name}/auth/oauth2/${provider}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`,
  )
}

/** OAuth2 / OpenID Connect sign-in: the redirect to the provider and its callback. */
export const authOAuthRoutes: FastifyPluginAsync<AuthOAuthRoutesOptions> = async (app, options) => {
  const { oauth } = options
  const base = '/api/collections/:name/auth/oauth2/:provider'

  app.get<{ Params: ProviderParams; Querystring: Static<typeof startQuery> }>(
    base,
    { schema: { params: providerParams, querystring: startQuery } },
    async (request, reply) => {
      const { name, provider } = request.params
      const { url, binder } = await oauth.start(name, provider, request.query.redirect)
      setBinder(request, reply, binder, 600)
      return reply.header('cache-control', 'no-store').redirect(url, 302)
    },
  )

  app.get<{ Params: ProviderParams; Querystring: Static<typeof callbackQuery> }>(
    `${base}/callback`,
    { schema: { params: providerParams, querystring: callbackQuery } },
    async (request, reply) => {
      const { name, provider } = request.params
      // Cleared whatever happens next: the state it guarded is spent either way.
      setBinder(request, reply, '', 0)
      const { signedIn, redirect } = await oauth.complete(
        name,
        provider,
        request.query,
        binderOf(request),
        { ip: request.ip, userAgent: request.headers['user-agent'] ?? '' },
      )
      // RFC 6749 §5.1: responses carrying tokens "MUST include the Cache-Control: no-store".
      reply.header('cache-control', 'no-store')
      if (!redirect) return signedIn
      // In the fragment, which browsers never send to a server, so tokens stay out of logs.
      const fragment: Record<string, string> =
        'token' in signedIn
          ? { token: signedIn.token, refreshToken: signedIn.refreshToken }
          : { mfaRequired: 'true', mfaToken: signedIn.mfaToken }
      const target = new URL(redirect)
      target.hash = new URLSearchParams({ collection: name, ...fragment }).toString()
      return reply.redirect(target.href, 302)
    },
  )
}
