import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'

/**
 * Registers a global tracer provider with W3C trace-context propagation. Spans go to the given
 * processors (tests pass an in-memory exporter) or, by default, in batches to the OTLP/HTTP
 * endpoint from `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter reads the standard OTEL_* variables).
 *
 * @example
 *   const tracing = startTracing({ serviceName: 'engineroom', endpoint: 'http://127.0.0.1:4318' })
 *   // on shutdown: await tracing.shutdown()
 */
export function startTracing(options: {
  serviceName: string
  endpoint?: string
  processors?: SpanProcessor[]
}): { shutdown(): Promise<void> } {
  const processors = options.processors ?? [
    new BatchSpanProcessor(
      new OTLPTraceExporter({ url: `${options.endpoint?.replace(/\/$/, '')}/v1/traces` }),
    ),
  ]
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: '0.1.0',
    }),
    spanProcessors: processors,
  })
  provider.register({ propagator: new W3CTraceContextPropagator() })
  return { shutdown: () => provider.shutdown() }
}
