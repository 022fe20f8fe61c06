import { SpanStatusCode, trace } from '@opentelemetry/api'

const tracer = trace.getTracer('engineroom.services')

/**
 * The same service with each method run inside a span named `<name>.<method>` (`records.create`).
 * Uses only the OpenTelemetry API: with no tracer provider registered the spans are no-ops,
 * so an engine without tracing pays a function call, not an allocation per span export.
 *
 * @example
 *   const records = traced('records', createRecordsService(deps))
 */
export function traced<T extends object>(name: string, service: T): T {
  const wrapped: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(service)) {
    if (typeof value !== 'function') {
      wrapped[key] = value
      continue
    }
    const method = value as (...args: unknown[]) => unknown
    wrapped[key] = (...args: unknown[]) =>
      tracer.startActiveSpan(`${name}.${key}`, (span) => {
        try {
          const result = method.apply(service, args)
          if (result instanceof Promise) {
            return result.then(
              (resolved) => {
                span.end()
                return resolved
              },
              (error: unknown) => {
                endWithError(span, error)
                throw error
              },
            )
          }
          span.end()
          return result
        } catch (error) {
          endWithError(span, error)
          throw error
        }
      })
  }
  return wrapped as T
}

function endWithError(span: ReturnType<typeof tracer.startSpan>, error: unknown): void {
  // Expected outcomes (validation, 404) are errors for the caller, not faults of the service;
  // the span records the code so traces can still be searched by it.
  const code = (error as { code?: unknown }).code
  span.setAttribute('error.type', typeof code === 'string' ? code : 'exception')
  if (typeof code !== 'string') span.setStatus({ code: SpanStatusCode.ERROR })
  span.end()
}
