import type * as OpenId from 'openid-client'
import { EngineError } from '../../core/errors/index.js'

/**
 * One sign-in provider from `ER_OAUTH_PROVIDERS`: any OpenID Connect issuer (found by discovery),
 * or a preset.
 *
 * @example
 *   { name: 'corp', collection: 'users', issuer: 'https://idp.example', clientId: 'er', clientSecret: '…' }
 *   { name: 'gh', collection: 'users', preset: 'github', clientId: '…', clientSecret: '…' }
 */
export type OAuthProviderConfig = {
  name: string
  /** The auth collection its accounts sign in to. */
  collection: string
  clientId: string
  clientSecret: string
} & ({ issuer: string; preset?: undefined } | { preset: 'google' | 'github'; issuer?: undefined })

/** Who the provider says signed in. `subject` is stable; the e-mail may change. */
export interface ProviderProfile {
  subject: string
  email: string | undefined
  /** Only a provider's explicit yes counts (OIDC Core §5.1 `email_verified`). */
  emailVerified: boolean
  name: string | undefined
}

/** A provider ready for the authorization code flow. */
export interface ResolvedProvider {
  config: OpenId.Configuration
  /** OpenID Connect: an ID token is required, and a nonce is sent and checked. */
  oidc: boolean
  scope: string
  /** Reads the profile once the code is exchanged. */
  profile(
    tokens: OpenId.TokenEndpointResponse & OpenId.TokenEndpointResponseHelpers,
  ): Promise<ProviderProfile>
}

const failed = (detail: string) => new EngineError('ER_AUTH_OAUTH_FAILED', detail)

const GITHUB_API = 'https://api.github.com'

let openIdClient: Promise<typeof OpenId> | undefined

/**
 * openid-client (with oauth4webapi), loaded at the first sign-in through a provider: the OAuth
 * routes are always registered (providers are live settings), but a server with none never
 * holds the library in memory.
 */
export function loadOpenIdClient(): Promise<typeof OpenId> {
  openIdClient ??= import('openid-client')
  return openIdClient
}

/**
 * Builds the client configuration. OIDC issuers are read from their discovery document
 * (OIDC Discovery §4); GitHub is plain OAuth 2.0 with fixed endpoints and a REST profile.
 */
export async function resolveProvider(provider: OAuthProviderConfig): Promise<ResolvedProvider> {
  const client = await loadOpenIdClient()
  const auth = client.ClientSecretBasic(provider.clientSecret)
  if (provider.preset === 'github') {
    const config = new client.Configuration(
      {
        issuer: 'https://github.com',
        authorization_endpoint: 'https://github.com/login/oauth/authorize',
        token_endpoint: 'https://github.com/login/oauth/access_token',
      },
      provider.clientId,
      undefined,
      auth,
    )
    return { config, oidc: false, scope: 'read:user user:email', profile: (t) => githubProfile(t) }
  }
  const issuer =
    provider.preset === 'google' ? 'https://accounts.google.com' : (provider.issuer ?? '')
  const url = new URL(issuer)
  // config.ts only lets plain http through for a loopback issuer (development and tests).
  const execute = url.protocol === 'http:' ? [client.allowInsecureRequests] : []
  let config: OpenId.Configuration
  try {
    config = await client.discovery(url, provider.clientId, undefined, auth, { execute })
  } catch {
    throw failed(`The discovery document of provider "${provider.name}" could not be read.`)
  }
  return {
    config,
    oidc: true,
    scope: 'openid email profile',
    profile: (tokens) => oidcProfile(config, tokens),
  }
}

async function oidcProfile(
  config: OpenId.Configuration,
  tokens: OpenId.TokenEndpointResponse & OpenId.TokenEndpointResponseHelpers,
): Promise<ProviderProfile> {
  const claims = tokens.claims()
  if (!claims) throw failed('The provider returned no ID token.')
  let info: Record<string, unknown> = claims
  // Many providers put `email` in the UserInfo response only (OIDC Core §5.4: scope claims are
  // returned from the UserInfo Endpoint when an Access Token is issued). The subject must match
  // the ID token's (§5.3.2: "the sub Claim in the UserInfo Response MUST be verified to exactly
  // match the sub Claim in the ID Token").
  if (claims.email === undefined && config.serverMetadata().userinfo_endpoint) {
    const client = await loadOpenIdClient()
    info = { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims }
  }
  return {
    subject: claims.sub,
    email: typeof info.email === 'string' ? info.email.toLowerCase() : undefined,
    emailVerified: info.email_verified === true,
    name: typeof info.name === 'string' ? info.name : undefined,
  }
}

/** GitHub's user and e-mail APIs: the primary address counts only when GitHub verified it. */
async function githubProfile(tokens: OpenId.TokenEndpointResponse): Promise<ProviderProfile> {
  const headers = {
    authorization: `Bearer ${tokens.access_token}`,
    accept: 'application/vnd.github+json',
    'user-agent': 'engineroom',
  }
  const get = async (path: string): Promise<unknown> => {
    const response = await fetch(`${GITHUB_API}${path}`, { headers })
    if (!response.ok) throw failed(`GitHub answered ${response.status} to ${path}.`)
    return response.json()
  }
  const user = (await get('/user')) as { id?: unknown; name?: unknown }
  if (typeof user.id !== 'number') throw failed('GitHub returned no user id.')
  const emails = (await get('/user/emails')) as {
    email: string
    primary: boolean
    verified: boolean
  }[]
  const primary = Array.isArray(emails) ? emails.find((e) => e.primary) : undefined
  return {
    subject: String(user.id),
    email: primary?.email.toLowerCase(),
    emailVerified: primary?.verified === true,
    name: typeof user.name === 'string' ? user.name : undefined,
  }
}
