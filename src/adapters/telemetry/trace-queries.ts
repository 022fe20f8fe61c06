import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import type { QueryEvent } from '../store/store.js'

const tracer = trace.getTracer('engineroom.store')

/**
 * A store query observer that records each SQL statement as a client span, child of whatever
 * span is active (the service call). Kysely reports a statement once it has run, so the span is
 * started back-dated by its duration. Parameters are never recorded: they are user data.
 */
export function createQueryTracer(dialect: 'sqlite' | 'postgresql') {
  return (event: QueryEvent): void => {
    if (!trace.getActiveSpan()) return
    const end = Date.now()
    const span = tracer.startSpan(operationName(event.sql), {
      kind: SpanKind.CLIENT,
      startTime: end - event.durationMs,
      attributes: { 'db.system.name': dialect, 'db.query.text': event.sql.slice(0, 2000) },
    })
    if (event.failed) span.setStatus({ code: SpanStatusCode.ERROR })
    span.end(end)
  }
}

/**
 * The statement's operation: its first keyword, except that a `WITH` holding a data-modifying
 * statement (a create written with its outbox row in one statement) is named after that write.
 */
function operationName(sql: string): string {
  const first = sql.slice(0, 40).split(/\s/)[0]?.toUpperCase() || 'SQL'
  if (first !== 'WITH') return first
  return /\b(INSERT|UPDATE|DELETE)\b/i.exec(sql.slice(0, 2000))?.[1]?.toUpperCase() ?? 'SELECT'
}
