import type { LogEvent } from 'kysely'
import type { QueryObserver } from './store.js'

/**
 * Kysely's `log` hook as a {@link QueryObserver}: it runs after each statement, in the async
 * context of the caller, so a tracer sees the request's span as the parent.
 */
export function kyselyLogFor(observer: QueryObserver | undefined) {
  if (!observer) return undefined
  return (event: LogEvent): void => {
    observer({
      sql: event.query.sql,
      durationMs: event.queryDurationMillis,
      failed: event.level === 'error',
    })
  }
}
