/**
 * `@engineroom/client`: a typed client for an Engine Room server, with no runtime dependencies
 * (fetch, streams and TextDecoder are all it needs: Node 20+ and current browsers).
 *
 * @example
 *   import { createClient } from '@engineroom/client'
 *   import type { Collections } from './engineroom-types.js' // from `engineroom types --out`
 *   const er = createClient<Collections>({ url: 'http://127.0.0.1:8090' })
 *   await er.auth.signInWithPassword('users', 'ann@example.com', 'a long password')
 *   const page = await er.collection('posts').list({ filter: 'views > 10', sort: '-created' })
 */
import { createAuthApi, createAuthStore, type AuthApi } from './auth.js'
import { createFilesApi, type FilesApi } from './files.js'
import { createHttp, type FetchLike, type RequestOptions } from './http.js'
import { createRealtimeApi, type RealtimeApi } from './realtime.js'
import {
  createRecordsApi,
  type AnyCollections,
  type CollectionsOf,
  type RecordsApi,
} from './records.js'

export interface ClientOptions {
  /** The server's base URL, e.g. `https://api.example.com`. */
  url: string
  /** Another fetch (a test double, a proxy-aware one); the global fetch by default. */
  fetch?: FetchLike
}

export interface Client<C extends CollectionsOf<C> = AnyCollections> {
  auth: AuthApi
  files: FilesApi
  realtime: RealtimeApi
  collection<N extends keyof C & string>(name: N): RecordsApi<C[N]>
  /** Any other endpoint, with the same token and problem errors. */
  request<T>(path: string, options?: RequestOptions): Promise<T>
}

export function createClient<C extends CollectionsOf<C> = AnyCollections>(
  options: ClientOptions,
): Client<C> {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const store = createAuthStore()
  // Requests renew the session through `auth`, which itself sends its requests over `http`.
  const http = createHttp(
    options.url,
    fetchImpl,
    () => store.get()?.token ?? null,
    () => auth.renewal,
  )
  const auth = createAuthApi(http, store)
  return {
    auth,
    files: createFilesApi(http),
    realtime: createRealtimeApi(http),
    collection: (name) => createRecordsApi(http, name),
    request: (path, requestOptions) => http.request(path, requestOptions),
  }
}

export { ProblemError, type ProblemBody } from './errors.js'
export type { AuthApi, MfaChallenge, Session, SessionListener } from './auth.js'
export type { FileUrlOptions, FilesApi } from './files.js'
export type { FetchLike, RequestOptions } from './http.js'
export type { RealtimeApi, RealtimeEvent, SubscribeOptions, Subscription } from './realtime.js'
export type {
  AnyCollections,
  AnyRecord,
  CollectionTypes,
  CollectionsOf,
  ListOptions,
  ListResult,
  RecordsApi,
  ViewOptions,
  WriteOptions,
} from './records.js'
