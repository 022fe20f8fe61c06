import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { Counter } from 'prom-client'
import type { Engine } from '../../services/create-engine.js'
import type { Metrics } from './metrics.js'

/** One realtime subscriber (SSE stream or GraphQL subscription) that failed on the server. */
export interface RealtimeFailure {
  /** The request that opened it (`<upgrade request id>:<operation id>` for GraphQL). */
  requestId: string
  /** `check_failed`, `delivery_failed`, `replay_failed` (the hub), `graphql_failed` (graphql-ws). */
  reason: string
  collection?: string
  /** The last event id the stream passed, where its client resumes. */
  lastEventId?: number
  error: unknown
}

const SUBSCRIBER_ERRORS = 'er_realtime_subscriber_errors_total'
const HUB_REASONS = ['check_failed', 'delivery_failed', 'replay_failed', 'graphql_failed']
const BACKGROUND_ERRORS = 'er_background_errors_total'

/**
 * `er_realtime_subscriber_errors_total{reason}`: subscribers ended (or answered an error) by a
 * failure of their own, not of their client. Registered once per registry; every reason starts
 * at 0, so a rate or an alert works before the first failure.
 */
export function subscriberErrorCounter(metrics: Metrics): Counter<'reason'> {
  const existing = metrics.registry.getSingleMetric(SUBSCRIBER_ERRORS)
  if (existing) return existing as Counter<'reason'>
  const counter = new Counter({
    name: SUBSCRIBER_ERRORS,
    help: 'Realtime subscribers (SSE streams, GraphQL subscriptions) that failed on the server.',
    labelNames: ['reason'] as const,
    registers: [metrics.registry],
  })
  for (const reason of HUB_REASONS) counter.inc({ reason }, 0)
  return counter
}

/**
 * `er_background_errors_total{component}`: failures of work no request waits for (the realtime
 * dispatcher and hub, file and auth housekeeping); each is also one log line.
 */
export function backgroundErrorCounter(metrics: Metrics): Counter<'component'> {
  const existing = metrics.registry.getSingleMetric(BACKGROUND_ERRORS)
  if (existing) return existing as Counter<'component'>
  return new Counter({
    name: BACKGROUND_ERRORS,
    help: 'Failures of background work (realtime dispatcher and hub, housekeeping), by component.',
    labelNames: ['component'] as const,
    registers: [metrics.registry],
  })
}

/**
 * Makes the reporter of realtime subscriber failures: each one is counted and written as one
 * JSON line at level error, with the request id that opened the stream (`reqId`, as on the
 * request's own line), the collection, the reason and the error (redacted like every line).
 *
 * @example
 *   {"level":50,"reqId":"a1b2","collection":"notes","reason":"check_failed","lastEventId":41,
 *    "err":{"type":"SqliteError","message":"no such column: t.name",…},"msg":"realtime subscriber failed"}
 */
export function createRealtimeFailureReporter(
  log: FastifyBaseLogger,
  metrics: Metrics,
): (failure: RealtimeFailure) => void {
  const counter = subscriberErrorCounter(metrics)
  return ({ requestId, reason, collection, lastEventId, error }) => {
    counter.inc({ reason })
    log.error(
      {
        reqId: requestId,
        reason,
        ...(collection ? { collection } : {}),
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        err: error,
      },
      'realtime subscriber failed',
    )
  }
}

/**
 * Reports every stream the engine's realtime hub ends for a failure of its own, until the app
 * closes. Returns the reporter, for the failures the HTTP layer sees itself (graphql-ws).
 */
export function reportRealtimeFailures(
  app: FastifyInstance,
  metrics: Metrics,
  engine: Engine,
): (failure: RealtimeFailure) => void {
  const report = createRealtimeFailureReporter(app.log, metrics)
  const hub = engine.realtime?.hub
  if (hub) {
    const stop = hub.onSubscriberFailure(report)
    app.addHook('onClose', async () => {
      stop()
    })
  }
  return report
}
