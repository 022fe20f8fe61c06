import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onResponseHookHandler,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify'
import type { IdempotencyLedger, IdempotencyRow, KeptResponse } from '../../adapters/store/store.js'
import { EngineError } from '../../core/errors/index.js'
import type { AuthService } from '../../services/auth/auth-service.js'
import { contextOf } from './request-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The key this request holds while it runs; its answer is kept when it is sent. */
    idempotencyClaim?: { keyHash: string; created: string; cipherKey: Buffer }
  }
  interface FastifyContextConfig {
    /** `false` on routes with their own retry protocol (tus), where the header means nothing. */
    idempotency?: boolean
  }
}

export interface IdempotencyOptions {
  ledger: IdempotencyLedger
  auth: AuthService
  /** How long a key and its answer are kept (default 24 hours, as the IETF draft suggests). */
  ttlSeconds?: number
  now?: () => Date
}

/** Answers larger than this are not kept: a repeat is told so (409) rather than run again. */
export const MAX_KEPT_RESPONSE_BYTES = 1024 * 1024
/** A claim still pending after this long belongs to a process that died mid-request. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/
/** Answers that say "try again": kept, they would make the retry they invite impossible. */
const RETRYABLE_STATUSES = new Set([408, 409, 425, 429])
const SWEEP_EVERY_MS = 60 * 1000

/**
 * `Idempotency-Key` on every POST and PATCH (draft-ietf-httpapi-idempotency-key-header): the
 * first request with a key runs and its answer is kept for 24 hours; a repeat by the same caller
 * with the same method, URL and body gets that answer again (`Idempotent-Replayed: true`)
 * without running; the same key with another request is a 422, and a repeat while the first
 * still runs a 409. Keys are per caller (auth collection and id; one scope for anonymous
 * callers, where a repeat must also match the body exactly).
 *
 *   curl -X POST …/records -H 'Idempotency-Key: 8e0b…' -d '{"title":"once"}'   # 201, created
 *   curl -X POST …/records -H 'Idempotency-Key: 8e0b…' -d '{"title":"once"}'   # 201, same record
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const { ledger, auth } = options
  const ttlMs = (options.ttlSeconds ?? 24 * 60 * 60) * 1000
  const now = options.now ?? (() => new Date())
  let lastSweep = 0

  // Callback-style hooks with a synchronous exit: a request without the header (nearly all of
  // them) pays no promise and no microtask here.
  const preHandler: preHandlerHookHandler = (request, reply, done) => {
    if (request.method !== 'POST' && request.method !== 'PATCH') return done()
    const header = request.headers['idempotency-key']
    if (header === undefined || request.routeOptions.config.idempotency === false) return done()
    claimOrReplay(request, reply, header).then(
      (replayed) => (replayed ? undefined : done()),
      (error: Error) => done(error),
    )
  }

  /** Claims the key (false: the request runs) or answers the kept response (true). */
  async function claimOrReplay(
    request: FastifyRequest,
    reply: FastifyReply,
    header: string | string[],
  ): Promise<boolean> {
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw new EngineError(
        'ER_IDEMPOTENCY_KEY_INVALID',
        'Send one Idempotency-Key of 1 to 255 visible ASCII characters, such as a UUID.',
      )
    }
    const ctx = await contextOf(request, auth)
    const scope = ctx.auth ? `${ctx.auth.collection.id}:${String(ctx.auth.record.id)}` : 'anonymous'
    const at = now()
    const created = at.toISOString()
    const keyHash = sha256(`idempotency-key\0${scope}\0${header}`)
    const fingerprint = fingerprintOf(request)
    const held = await ledger.claim(
      { keyHash, fingerprint, created, expires: new Date(at.getTime() + ttlMs).toISOString() },
      new Date(at.getTime() - ABANDONED_AFTER_MS).toISOString(),
    )
    if (at.getTime() - lastSweep > SWEEP_EVERY_MS) {
      lastSweep = at.getTime()
      ledger.sweep(created).catch((error: unknown) => {
        request.log.warn({ err: error }, 'idempotency sweep failed')
      })
    }
    const cipherKey = cipherKeyOf(header, scope)
    if (held === null) {
      request.idempotencyClaim = { keyHash, created, cipherKey }
      return false
    }
    replay(reply, held, fingerprint, cipherKey)
    return true
  }

  const onSend: onSendHookHandler = (request, reply, payload, done) => {
    const claim = request.idempotencyClaim
    if (!claim) return done(null, payload)
    request.idempotencyClaim = undefined
    const status = reply.statusCode
    const settled =
      status >= 500 || RETRYABLE_STATUSES.has(status)
        ? ledger.release(claim.keyHash, claim.created)
        : ledger.complete(
            claim.keyHash,
            claim.created,
            keptResponse(reply, payload, claim.cipherKey),
          )
    settled.then(
      () => done(null, payload),
      (error: Error) => done(error),
    )
  }

  // A request that never answers (the client went away before the handler finished) gives its
  // key up, so that the client's retry runs instead of waiting for the claim to go stale.
  const onResponse: onResponseHookHandler = (request, _reply, done) => {
    const claim = request.idempotencyClaim
    if (!claim) return done()
    request.idempotencyClaim = undefined
    ledger.release(claim.keyHash, claim.created).then(
      () => done(),
      (error: Error) => done(error),
    )
  }

  // Only routes that take a POST or a PATCH get the three hooks, ahead of their own: a route
  // without them (every read) runs none, and a GET with no preHandler at all skips Fastify's
  // whole preHandler step.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    if (!methods.includes('POST') && !methods.includes('PATCH')) return
    if (route.config?.idempotency === false) return
    route.preHandler = [preHandler, ...[route.preHandler ?? []].flat()]
    route.onSend = [onSend, ...[route.onSend ?? []].flat()]
    route.onResponse = [onResponse, ...[route.onResponse ?? []].flat()]
  })
}

function replay(
  reply: FastifyReply,
  held: IdempotencyRow,
  fingerprint: string,
  cipherKey: Buffer,
): FastifyReply {
  if (held.fingerprint !== fingerprint) {
    throw new EngineError(
      'ER_IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was sent with another request; use a new key for a new request.',
    )
  }
  if (held.state === 'pending') {
    reply.header('retry-after', '1')
    throw new EngineError(
      'ER_IDEMPOTENCY_IN_PROGRESS',
      'The first request with this Idempotency-Key is still running; retry to get its answer.',
    )
  }
  if (held.state === 'unkept' || held.status === null) {
    throw new EngineError(
      'ER_IDEMPOTENCY_RESPONSE_UNKEPT',
      'The request with this Idempotency-Key completed, but its answer was too large to keep.',
    )
  }
  reply.status(held.status).header('idempotent-replayed', 'true')
  if (held.contentType) reply.header('content-type', held.contentType)
  if (held.location) reply.header('location', held.location)
  return reply.send(held.body === null ? undefined : decrypt(held.body, cipherKey))
}

function keptResponse(reply: FastifyReply, payload: unknown, cipherKey: Buffer): KeptResponse {
  const body =
    payload === null || payload === undefined
      ? Buffer.alloc(0)
      : typeof payload === 'string' || Buffer.isBuffer(payload)
        ? Buffer.from(payload)
        : null // a stream: its bytes are not at hand
  const contentType = reply.getHeader('content-type')
  const location = reply.getHeader('location')
  const kept = body !== null && body.length <= MAX_KEPT_RESPONSE_BYTES
  return {
    state: kept ? 'done' : 'unkept',
    status: reply.statusCode,
    contentType: typeof contentType === 'string' ? contentType : null,
    location: typeof location === 'string' ? location : null,
    body: kept && body.length > 0 ? encrypt(body, cipherKey) : null,
  }
}

/**
 * What must match for a repeat to be "the same request": method, URL with its query, and the
 * parsed body. A multipart body is streamed by its handler and never at hand here, so for
 * multipart requests only the content type's kind is compared (documented).
 */
function fingerprintOf(request: FastifyRequest): string {
  const multipart = /^multipart\//i.test(request.headers['content-type'] ?? '')
  const body = multipart ? 'multipart' : JSON.stringify(request.body ?? null)
  return sha256(`${request.method}\0${request.url}\0${body}`)
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * The kept answer is sealed under a key only the client holds (derived from its Idempotency-Key
 * with HKDF), so a copy of the database does not reveal answers that carry secrets.
 */
function cipherKeyOf(key: string, scope: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, scope, 'engineroom idempotent answer', 32))
}

function encrypt(plain: Buffer, key: Buffer): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')
}

function decrypt(text: string, key: Buffer): Buffer {
  const raw = Buffer.from(text, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()])
}
