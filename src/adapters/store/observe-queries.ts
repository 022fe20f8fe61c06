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

/**
 * Runs one statement outside Kysely and tells `observer` of it, as Kysely's log hook would: the
 * same event, in the caller's context.
 */
export function observed<T>(observer: QueryObserver | undefined, sql: string, run: () => T): T {
  if (!observer) return run()
  const started = performance.now()
  try {
    const result = run()
    observer({ sql, durationMs: performance.now() - started, failed: false })
    return result
  } catch (error) {
    observer({ sql, durationMs: performance.now() - started, failed: true })
    throw error
  }
}

/** `observed` for a statement that answers later: the event is told when it settles. */
export async function observedAsync<T>(
  observer: QueryObserver | undefined,
  sql: string,
  run: () => Promise<T>,
): Promise<T> {
  if (!observer) return run()
  const started = performance.now()
  try {
    const result = await run()
    observer({ sql, durationMs: performance.now() - started, failed: false })
    return result
  } catch (error) {
    observer({ sql, durationMs: performance.now() - started, failed: true })
    throw error
  }
}
