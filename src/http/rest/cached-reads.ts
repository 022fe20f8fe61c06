import { hash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ResponseCache } from '../../adapters/cache/cache.js'
import { readDependencies, type ReadDependencies } from '../../core/schema/read-dependencies.js'
import type { CollectionDef } from '../../core/schema/types.js'
import type { RequestContext } from '../../services/context.js'
import type { SchemaRegistry } from '../../services/schema/schema-registry.js'

/** What a cached read did: for `er_response_cache_requests_total{outcome}`. */
export type CacheOutcome = 'hit' | 'miss' | 'bypass'

export interface CachedReadsOptions {
  registry: SchemaRegistry
  /** Without one, answers still carry ETags and Cache-Control; nothing is kept. */
  cache?: ResponseCache | undefined
  onOutcome?: (outcome: CacheOutcome) => void
  /**
   * Read replicas: runs a read on a replica when the caller may see lag. `lagging` answers are
   * never kept: a replica behind the primary would store an old answer under the new version.
   */
  readThrough?: (
    request: FastifyRequest,
    ctx: RequestContext,
    compute: () => Promise<unknown>,
  ) => Promise<{ value: unknown; lagging: boolean }>
}

export type CachedRead = (
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: RequestContext,
  target: { collection: string; rule: 'list' | 'view' },
  compute: () => Promise<unknown>,
) => Promise<FastifyReply>

/**
 * Record reads (one record, a list) through the response cache, with HTTP validators:
 * - the key is the schema version, the versions of every collection the read may see (see
 *   `readDependencies`; the caller's own auth collection too, as rules read its fields), the
 *   caller's scope (anonymous; or auth collection + record id, + API key id) and the URL;
 * - every answer has an ETag (a hash of its body) and `If-None-Match` with it is a 304;
 * - `Cache-Control: public, no-cache` only for an anonymous caller of a public rule (`""`):
 *   every anonymous caller gets that same answer, so a shared cache may keep it, revalidating;
 *   anything else is `private, no-cache`, which a shared cache never stores. Both vary on
 *   `Authorization` and `Cookie`.
 * Rules that read `@now` are never cached (their answer changes with time).
 */
export function createCachedReads(options: CachedReadsOptions): CachedRead {
  const { registry, cache } = options
  let dependencies: { of: unknown; map: Map<string, ReadDependencies> } | undefined
  const dependenciesOf = (name: string) => {
    const catalogue = registry.catalogue
    if (dependencies?.of !== catalogue) {
      dependencies = { of: catalogue, map: readDependencies(catalogue) }
    }
    return dependencies.map.get(name)
  }

  /** The key, or undefined when this read must not be cached. */
  const keyOf = (request: FastifyRequest, ctx: RequestContext, collection: CollectionDef) => {
    if (!cache) return undefined
    const deps = dependenciesOf(collection.name)
    if (!deps || deps.timeDependent) return undefined
    const caller = ctx.auth
    const names =
      caller && !deps.collections.includes(caller.collection.name)
        ? [...deps.collections, caller.collection.name].sort()
        : deps.collections
    const versions = cache.versions(names)
    if (versions === undefined) return undefined
    const scope = caller
      ? `${caller.collection.id}:${String(caller.record.id)}${caller.apiKey ? `:key:${caller.apiKey.id}` : ''}`
      : 'anonymous'
    return hash(
      'sha256',
      `${registry.version}\n${names.join(',')}\n${versions}\n${scope}\n${request.url}`,
      'base64url',
    )
  }

  return async (request, reply, ctx, target, compute) => {
    if (registry.stale) await registry.refreshIfStale()
    const collection = registry.find(target.collection)
    const key = collection ? keyOf(request, ctx, collection) : undefined
    let answer = key ? await cache?.get(key) : undefined
    options.onOutcome?.(key === undefined ? 'bypass' : answer ? 'hit' : 'miss')
    if (!answer) {
      const read = options.readThrough
        ? await options.readThrough(request, ctx, compute)
        : { value: await compute(), lagging: false }
      const body = JSON.stringify(read.value)
      answer = { etag: etagOf(body), body }
      if (key && !read.lagging) void cache?.set(key, answer)
    }
    const shared = ctx.auth === null && collection?.rules[target.rule] === ''
    reply
      .header('etag', answer.etag)
      .header('cache-control', shared ? 'public, no-cache' : 'private, no-cache')
      .header('vary', 'Authorization, Cookie')
    if (matches(request.headers['if-none-match'], answer.etag)) return reply.code(304).send()
    return reply.type('application/json; charset=utf-8').send(answer.body)
  }
}

/**
 * A strong validator: the body's SHA-256, shortened (collisions stay out of reach). One-shot
 * `hash` costs about half of a `createHash` object on the small bodies of record reads.
 */
function etagOf(body: string): string {
  return `"${hash('sha256', body, 'base64url').slice(0, 27)}"`
}

/**
 * RFC 9110 §13.1.2: `If-None-Match` compares weakly — `W/"x"` matches `"x"` — and `*` matches
 * any current representation.
 */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
