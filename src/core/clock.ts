import { normalizeDate } from './filter/normalize-date.js'

/** Time as the engine sees it; tests pass a fixed clock. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** The storage and API form of an instant: ISO 8601 UTC with milliseconds. */
export function toIsoInstant(date: Date): string {
  return date.toISOString()
}

/**
 * Parses the date forms the API accepts (`2026-01-02`, `2026-01-02 10:00:00`, full ISO 8601 with
 * offset) into the storage form, or returns undefined. Plain dates and times without an offset are
 * read as UTC so the same text means the same instant on every server. A day the month does not
 * have (`2024-02-30`, with or without an offset) is refused, never moved into the next month.
 */
export function normalizeInstant(text: string): string | undefined {
  return normalizeDate(text.trim())
}
