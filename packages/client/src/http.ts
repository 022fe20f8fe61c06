/**
 * The one place requests are made: base URL, bearer token, JSON bodies, problem errors.
 */
import { problemFrom } from './errors.js'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface RequestOptions {
  method?: string
  query?: Record<string, string | number | boolean | undefined>
  /** A plain object is sent as JSON; FormData (file uploads) as multipart. */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Send no Authorization header even when signed in. */
  anonymous?: boolean
}

export interface Http {
  readonly baseUrl: string
  readonly fetch: FetchLike
  /** The URL of a path with a query string; undefined values are left out. */
  url(path: string, query?: RequestOptions['query']): string
  /** Authorization headers for the current token (empty when signed out). */
  authHeaders(): Record<string, string>
  /** A JSON answer, or undefined for 204; throws ProblemError on a status >= 400. */
  request<T>(path: string, options?: RequestOptions): Promise<T>
  /** Refreshes the session first when its token is about to expire (before a signed request). */
  prepare(): Promise<void>
  /** After a 401: refreshes the session if there is one; true when a new token is in place. */
  recover(): Promise<boolean>
}

/** How the session keeps its token fresh; absent, tokens are sent as they are. */
export interface TokenRenewal {
  prepare(): Promise<void>
  recover(): Promise<boolean>
}

export function createHttp(
  baseUrl: string,
  fetchImpl: FetchLike,
  token: () => string | null,
  renewal: () => TokenRenewal | undefined = () => undefined,
): Http {
  const base = baseUrl.replace(/\/+$/, '')
  const http: Http = {
    baseUrl: base,
    fetch: fetchImpl,
    url(path, query) {
      const params = new URLSearchParams()
      for (const [key, value] of Object.entries(query ?? {})) {
        if (value !== undefined) params.append(key, String(value))
      }
      const qs = params.toString()
      return `${base}${path}${qs ? `?${qs}` : ''}`
    },
    authHeaders(): Record<string, string> {
      const current = token()
      return current ? { authorization: `Bearer ${current}` } : {}
    },
    prepare: async () => renewal()?.prepare(),
    recover: async () => (await renewal()?.recover()) ?? false,
    async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
      // A caller's own Authorization header (an explicit token) is sent as given.
      if (!options.anonymous && !options.headers?.authorization) await http.prepare()
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(options.anonymous ? {} : http.authHeaders()),
        ...options.headers,
      }
      let body: RequestInit['body']
      if (options.body instanceof FormData) body = options.body
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body)
        headers['content-type'] = 'application/json'
      }
      const response = await fetchImpl(http.url(path, options.query), {
        method: options.method ?? 'GET',
        headers,
        body,
        signal: options.signal,
      })
      if (response.status >= 400) throw await problemFrom(response)
      if (response.status === 204) return undefined as T
      const text = await response.text()
      return (text ? JSON.parse(text) : undefined) as T
    },
  }
  return http
}
