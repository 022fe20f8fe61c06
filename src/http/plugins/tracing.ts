import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'

const TRACER = 'engineroom.http'
const spans = new WeakMap<FastifyRequest, Span>()

/** The server span of a request, when tracing is on. */
export function requestSpanOf(request: FastifyRequest): Span | undefined {
  return spans.get(request)
}

/**
 * A server span per request, child of the caller's `traceparent` (W3C trace context, through
 * the globally registered propagator), named `METHOD /route/template` once the route is known.
 *
 * The span is made the active context twice: in `onRequest` and again in `preHandler`, because
 * a request body is read from socket events that run outside the context entered in
 * `onRequest`; re-entering it just before the handler keeps service and SQL spans as children.
 */
export function registerTracing(app: FastifyInstance): void {
  const tracer = trace.getTracer(TRACER)
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers)
    const span = tracer.startSpan(
      `${request.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0],
          'http.request_id': String(request.id),
        },
      },
      parent,
    )
    spans.set(request, span)
    context.with(trace.setSpan(parent, span), done)
  })
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request)
    if (!span) return done()
    context.with(trace.setSpan(context.active(), span), done)
  })
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request)
    if (!span) return
    const route = request.routeOptions.url
    if (route) {
      span.updateName(`${request.method} ${route}`)
      span.setAttribute('http.route', route)
    }
    span.setAttribute('http.response.status_code', reply.statusCode)
    const userId = request.engineContext?.auth?.record.id
    if (typeof userId === 'string') span.setAttribute('enduser.id', userId)
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end()
  })
}
