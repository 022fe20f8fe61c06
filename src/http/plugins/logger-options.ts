import { destination, type DestinationStream, type LoggerOptions } from 'pino'
import { trace } from '@opentelemetry/api'
import { REDACT_PATHS, scrubSecrets } from './log-redaction.js'

export interface LoggerSettings {
  level: string
  /** `pretty` renders for a terminal through pino-pretty (a dev dependency: use in `npm run dev`). */
  format?: 'json' | 'pretty'
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  stream?: DestinationStream
  /** Each line as written (already redacted): the dashboard's log ring (log-ring.ts). */
  onLine?: (line: string) => void
}

/**
 * Pino options for the server: JSON lines, secrets redacted twice (by path, then by pattern on
 * the written line), and the active trace's ids on every line so logs and traces join up.
 *
 * @example
 *   buildServer(engine, { logger: loggerOptions({ level: 'info' }) })
 */
export function loggerOptions(settings: LoggerSettings): LoggerOptions & {
  stream?: DestinationStream
} {
  const { onLine } = settings
  return {
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin() {
      const span = trace.getActiveSpan()?.spanContext()
      return span && span.traceFlags !== 0 ? { traceId: span.traceId, spanId: span.spanId } : {}
    },
    hooks: { streamWrite: onLine ? (line) => keep(scrubSecrets(line), onLine) : scrubSecrets },
    ...(settings.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
    ...(settings.stream
      ? { stream: settings.stream }
      : settings.format === 'pretty'
        ? {}
        : { stream: bufferedDestination(1) }),
  }
}

/**
 * Standard output (or a file) in 4 KB writes, at least once a second, instead of one `write` per
 * line: the request log costs a busy server a system call per request otherwise. Pino flushes what is
 * buffered when the process exits (also on an uncaught error); a `kill -9` loses at most the
 * last second of lines.
 */
export function bufferedDestination(dest: number | string): DestinationStream {
  return destination({ dest, sync: false, minLength: 4096, periodicFlush: 1000 })
}

function keep(line: string, onLine: (line: string) => void): string {
  onLine(line)
  return line
}
