/**
 * A real OpenID Connect provider (oidc-provider) on loopback, with one confidential client and
 * accounts the test defines, plus a tiny user agent that signs in through its development login
 * and consent forms with plain fetch calls (no browser).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export interface IdpAccount {
  sub: string
  email: string
  email_verified: boolean
  name?: string
}

export interface LocalIdp {
  issuer: string
  /** Accounts by login name; tests add and change them at will. */
  accounts: Map<string, IdpAccount>
  /** Registers the client once the engine's address (hence its redirect_uri) is known. */
  start(client: { clientId: string; clientSecret: string; redirectUris: string[] }): void
  close(): Promise<void>
}

/** Listens first (port 0) so the issuer URL is known before the engine is configured. */
export async function listenLocalIdp(): Promise<LocalIdp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
  const server = createServer((req, res) => {
    if (handler) handler(req, res)
    else res.writeHead(503).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const accounts = new Map<string, IdpAccount>()
  return {
    issuer,
    accounts,
    start({ clientId, clientSecret, redirectUris }) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: redirectUris,
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['test cookie key for the local idp'] },
        pkce: { required: () => true },
        // Explicit lifetimes (the defaults print a notice each).
        ttl: {
          AccessToken: 600,
          AuthorizationCode: 60,
          Grant: 600,
          IdToken: 600,
          Interaction: 600,
          Session: 600,
        },
        async findAccount(_ctx: unknown, id: string) {
          const account = accounts.get(id)
          if (!account) return undefined
          return { accountId: id, claims: async () => ({ ...account }) }
        },
      })
      handler = provider.callback()
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/**
 * Follows a sign-in from the engine's start URL through the provider's login and consent pages
 * until the provider redirects back to `callbackPrefix`; returns that callback URL and the
 * engine's binding cookie (`er_oauth=…`). Cookies are kept per host, as a browser would.
 */
export async function signInAtIdp(
  startUrl: string,
  login: string,
  callbackPrefix: string,
): Promise<{ callbackUrl: string; binderCookie: string }> {
  const jars = new Map<string, Map<string, string>>()
  const jarOf = (url: URL) => {
    let jar = jars.get(url.host)
    if (!jar) jars.set(url.host, (jar = new Map()))
    return jar
  }
  const request = async (url: string, init: RequestInit = {}) => {
    const target = new URL(url)
    const jar = jarOf(target)
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(target, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const [key, ...value] = (pair ?? '').split('=')
      if (key) jar.set(key.trim(), value.join('='))
    }
    return res
  }
  let url = startUrl
  for (let step = 0; step < 20; step++) {
    if (step > 0 && url.startsWith(callbackPrefix)) {
      const binder = jarOf(new URL(startUrl)).get('er_oauth')
      return { callbackUrl: url, binderCookie: `er_oauth=${binder ?? ''}` }
    }
    const res = await request(url)
    const location = res.headers.get('location')
    if (location) {
      url = new URL(location, url).href
      continue
    }
    const html = await res.text()
    if (res.status !== 200) throw new Error(`identity provider answered ${res.status}: ${html}`)
    const action = /action="([^"]+)"/.exec(html)?.[1]
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1]
    if (!action || !prompt) throw new Error(`unexpected page at ${url}`)
    const form = new URLSearchParams({ prompt, login, password: 'any' })
    const posted = await request(new URL(action, url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    })
    const next = posted.headers.get('location')
    if (!next) throw new Error(`form post answered ${posted.status}: ${await posted.text()}`)
    url = new URL(next, url).href
  }
  throw new Error('sign-in did not come back to the engine')
}
