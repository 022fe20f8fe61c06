import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { invalidField } from '../../core/errors/index.js'
import type { AuthService, MfaChallenge, SignedIn } from '../../services/auth/auth-service.js'
import type { TokenSigner } from '../../services/auth/token-signer.js'
import {
  clearAuthCookies,
  refreshCookieOf,
  setAuthCookies,
  type AuthCookieOptions,
} from '../plugins/auth-cookies.js'
import { contextOf } from '../plugins/request-context.js'
import { nameParams } from './route-schemas.js'

type NameParams = Static<typeof nameParams>
const sessionParams = Type.Object({
  name: nameParams.properties.name,
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
})

/** `?record=<id>`: a superuser acting on another account (auth-account-admin.ts). */
const recordQuery = Type.Object({
  record: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
})
type RecordQuery = Static<typeof recordQuery>

export interface AuthRoutesOptions {
  auth: AuthService
  tokens: TokenSigner
  /** Set when cookie mode is on (`ER_AUTH_COOKIE`). */
  cookies?: AuthCookieOptions | undefined
}

const clientOf = (request: FastifyRequest) => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? '',
})

/** Sign-in, refresh, sign-out and session management for auth collections; the JWKS. */
export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (app, options) => {
  const { auth, tokens, cookies } = options
  const base = '/api/collections/:name/auth'

  /**
   * A browser that asked for cookies gets its tokens only as HttpOnly cookies; the body then
   * carries the record alone, so no page script ever holds a token.
   */
  function answer(reply: FastifyReply, signedIn: SignedIn | MfaChallenge, asCookies: boolean) {
    if (!asCookies || !cookies || 'mfaRequired' in signedIn) return signedIn
    setAuthCookies(reply, cookies, signedIn)
    return { record: signedIn.record }
  }

  function wantsCookies(request: FastifyRequest): boolean {
    const flag = (request.body as { cookie?: unknown } | undefined)?.cookie
    if (flag === undefined || flag === false) return false
    if (flag !== true) throw invalidField('cookie', 'type', 'must be true or false')
    if (!cookies) throw invalidField('cookie', 'disabled', 'cookie sessions are not enabled here')
    return true
  }

  app.post<{ Params: NameParams }>(
    `${base}/password`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const asCookies = wantsCookies(request)
      const signedIn = await auth.loginWithPassword(
        request.params.name,
        request.body,
        clientOf(request),
      )
      return answer(reply, signedIn, asCookies)
    },
  )

  app.post<{ Params: NameParams }>(
    `${base}/mfa/verify`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const asCookies = wantsCookies(request)
      const signedIn = await auth.verifyMfa(request.params.name, request.body, clientOf(request))
      return answer(reply, signedIn, asCookies)
    },
  )

  app.get<{ Params: NameParams; Querystring: RecordQuery }>(
    `${base}/mfa`,
    { schema: { params: nameParams, querystring: recordQuery } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      const { name } = request.params
      const { record } = request.query
      if (record !== undefined) return auth.accounts.mfaStatus(ctx, name, record)
      return auth.mfa.status(name, ctx.auth)
    },
  )

  app.post<{ Params: NameParams }>(
    `${base}/mfa/reset`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const { record } = (request.body ?? {}) as { record?: unknown }
      await auth.accounts.resetMfa(ctx, request.params.name, record)
      return reply.status(204).send()
    },
  )

  app.post<{ Params: NameParams }>(
    `${base}/mfa/totp`,
    { schema: { params: nameParams } },
    async (request) => auth.mfa.enrol(request.params.name, (await contextOf(request, auth)).auth),
  )

  app.post<{ Params: NameParams }>(
    `${base}/mfa/totp/confirm`,
    { schema: { params: nameParams } },
    async (request) =>
      auth.mfa.confirm(request.params.name, (await contextOf(request, auth)).auth, request.body),
  )

  app.post<{ Params: NameParams }>(
    `${base}/mfa/totp/disable`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const identity = (await contextOf(request, auth)).auth
      await auth.mfa.disable(request.params.name, identity, request.body, clientOf(request))
      return reply.status(204).send()
    },
  )

  app.post<{ Params: NameParams }>(
    `${base}/refresh`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const fromBody = (request.body as { refreshToken?: unknown } | undefined)?.refreshToken
      const fromCookie = fromBody === undefined && cookies ? refreshCookieOf(request) : undefined
      if (fromBody === undefined && fromCookie === undefined) {
        throw invalidField('refreshToken', 'required', 'is required')
      }
      const signedIn = await auth.refresh(request.params.name, fromBody ?? fromCookie)
      return answer(reply, signedIn, fromCookie !== undefined)
    },
  )

  app.post<{ Params: NameParams }>(
    `${base}/logout`,
    { schema: { params: nameParams } },
    async (request, reply) => {
      const body = (request.body ?? {}) as { refreshToken?: unknown }
      const cookieRefresh = cookies ? refreshCookieOf(request) : undefined
      const hasRefresh = body.refreshToken !== undefined || cookieRefresh !== undefined
      // With a refresh token no access token is needed: an expired one must not trap a user.
      const identity = hasRefresh ? null : (await contextOf(request, auth)).auth
      await auth.logout(request.params.name, identity, {
        refreshToken: body.refreshToken ?? cookieRefresh,
      })
      if (cookies) clearAuthCookies(reply, cookies)
      return reply.status(204).send()
    },
  )

  app.get<{ Params: NameParams; Querystring: RecordQuery }>(
    `${base}/sessions`,
    { schema: { params: nameParams, querystring: recordQuery } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      const { record } = request.query
      if (record !== undefined) return auth.accounts.listSessions(ctx, request.params.name, record)
      return auth.listSessions(request.params.name, ctx.auth)
    },
  )

  app.delete<{ Params: NameParams; Querystring: RecordQuery }>(
    `${base}/sessions`,
    { schema: { params: nameParams, querystring: recordQuery } },
    async (request) => {
      const ctx = await contextOf(request, auth)
      const { record } = request.query
      if (record !== undefined) {
        return auth.accounts.revokeSessions(ctx, request.params.name, record)
      }
      return auth.revokeAllSessions(request.params.name, ctx.auth)
    },
  )

  app.delete<{ Params: Static<typeof sessionParams>; Querystring: RecordQuery }>(
    `${base}/sessions/:id`,
    { schema: { params: sessionParams, querystring: recordQuery } },
    async (request, reply) => {
      const ctx = await contextOf(request, auth)
      const { name, id } = request.params
      const { record } = request.query
      if (record !== undefined) await auth.accounts.revokeSessions(ctx, name, record, id)
      else await auth.revokeSession(name, ctx.auth, id)
      return reply.status(204).send()
    },
  )

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: tokens.publicJwks() }
  })
}
