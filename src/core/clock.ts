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
 * read as UTC so the same text means the same instant on every server.
 */
export function normalizeInstant(text: string): string | undefined {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text.trim(),
    )
  if (!match) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = match
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${zone ?? 'Z'}`
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return undefined
  // Reject rolled-over dates such as 2026-02-31, which Date silently moves to March.
  if (!zone && date.getUTCDate() !== Number(d)) return undefined
  return date.toISOString()
}
