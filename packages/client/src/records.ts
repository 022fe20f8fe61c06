/**
 * Record CRUD of one collection, typed by a `Collections` map like the one `engineroom types`
 * writes: `{ posts: { record: PostsRecord; create: PostsCreate; update: PostsUpdate; expand: … } }`.
 */
import type { Http } from './http.js'

/** The shape of one entry of a generated `Collections` map. */
export interface CollectionTypes {
  record: object
  create: object
  update: object
  expand: string
}

/** A record as any collection returns it, when no generated types say more. */
export interface AnyRecord {
  id: string
  created: string
  updated: string
  [field: string]: unknown
}

/** Without generated types, every collection takes plain objects and returns `AnyRecord`s. */
export type AnyCollections = Record<
  string,
  {
    record: AnyRecord
    create: Record<string, unknown>
    update: Record<string, unknown>
    expand: string
  }
>

/**
 * What a collections map must be: each entry a `CollectionTypes`. A mapped type rather than an
 * index signature, because generated `interface Collections` has none.
 */
export type CollectionsOf<C> = { [K in keyof C]: CollectionTypes }

export interface ListOptions<Expand extends string = string> {
  /** A filter in the query language, e.g. `status = "published" && views > 10`. */
  filter?: string
  /** Comma-separated fields, `-` for descending: `-created,title`. */
  sort?: string
  page?: number
  perPage?: number
  /** A `nextCursor` from the previous page (keyset paging). */
  cursor?: string
  /** Ask for `totalItems` (costs a count). */
  count?: boolean
  expand?: Expand | readonly Expand[]
  fields?: string | readonly string[]
  signal?: AbortSignal
}

export interface ListResult<R> {
  items: R[]
  page: number
  perPage: number
  nextCursor: string | null
  /** Only when `count: true` was asked. */
  totalItems?: number
}

export interface ViewOptions<Expand extends string = string> {
  expand?: Expand | readonly Expand[]
  fields?: string | readonly string[]
  signal?: AbortSignal
}

export interface WriteOptions {
  /**
   * Sent as `Idempotency-Key`: a repeat of the same write with the same key (a retry after a
   * dropped connection) gets the first answer again instead of writing twice.
   */
  idempotencyKey?: string
  expand?: string | readonly string[]
  signal?: AbortSignal
}

export interface RecordsApi<T extends CollectionTypes> {
  list(options?: ListOptions<T['expand']>): Promise<ListResult<T['record']>>
  view(id: string, options?: ViewOptions<T['expand']>): Promise<T['record']>
  /** A JSON body, or FormData when the record carries files. */
  create(body: T['create'] | FormData, options?: WriteOptions): Promise<T['record']>
  update(id: string, body: T['update'] | FormData, options?: WriteOptions): Promise<T['record']>
  delete(id: string, options?: { signal?: AbortSignal }): Promise<void>
}

const joined = (value: string | readonly string[] | undefined) =>
  value === undefined ? undefined : typeof value === 'string' ? value : value.join(',')

export function createRecordsApi<T extends CollectionTypes>(
  http: Http,
  collection: string,
): RecordsApi<T> {
  const base = `/api/collections/${encodeURIComponent(collection)}/records`
  const one = (id: string) => `${base}/${encodeURIComponent(id)}`
  const writeHeaders = (options: WriteOptions | undefined): Record<string, string> =>
    options?.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}
  return {
    list(options = {}) {
      return http.request(base, {
        query: {
          filter: options.filter,
          sort: options.sort,
          page: options.page,
          perPage: options.perPage,
          cursor: options.cursor,
          count: options.count ? 'true' : undefined,
          expand: joined(options.expand),
          fields: joined(options.fields),
        },
        signal: options.signal,
      })
    },
    view(id, options = {}) {
      return http.request(one(id), {
        query: { expand: joined(options.expand), fields: joined(options.fields) },
        signal: options.signal,
      })
    },
    create(body, options) {
      return http.request(base, {
        method: 'POST',
        body,
        query: { expand: joined(options?.expand) },
        headers: writeHeaders(options),
        signal: options?.signal,
      })
    },
    update(id, body, options) {
      return http.request(one(id), {
        method: 'PATCH',
        body,
        query: { expand: joined(options?.expand) },
        headers: writeHeaders(options),
        signal: options?.signal,
      })
    },
    async delete(id, options) {
      await http.request(one(id), { method: 'DELETE', signal: options?.signal })
    },
  }
}
