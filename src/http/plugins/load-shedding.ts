import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import { EngineError } from '../../core/errors/index.js'

export interface LoadSheddingOptions {
  /** Mean event-loop delay (ms) above which new requests are refused; 0 = no limit. */
  maxEventLoopDelayMs: number
  /** Heap used (bytes) above which new requests are refused; 0 = no limit. */
  maxHeapUsedBytes: number
  /** Resident set size (bytes) above which new requests are refused; 0 = no limit. */
  maxRssBytes: number
  /** Seconds a refused client should wait (default 5). */
  retryAfterSeconds?: number
}

/**
 * Refuses new requests with a 503 problem and `Retry-After` while the process is overloaded, so
 * that the requests it already has finish instead of all slowing down together. Ops routes opt
 * out with `config: { pressureHandler: () => undefined }` so probes and scrapes keep answering.
 */
export async function registerLoadShedding(
  app: FastifyInstance,
  options: LoadSheddingOptions,
): Promise<void> {
  const retryAfter = options.retryAfterSeconds ?? 5
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxHeapUsedBytes: options.maxHeapUsedBytes,
    maxRssBytes: options.maxRssBytes,
    retryAfter,
    // Async, so the throw reaches Fastify's error handler as a rejected promise.
    pressureHandler: async (_request, reply, type) => {
      reply.header('retry-after', String(retryAfter))
      throw new EngineError(
        'ER_UNAVAILABLE',
        `The server is overloaded (${type}); retry in ${retryAfter} seconds.`,
      )
    },
  })
}
