// RFC 3339 §5.6 allows a lower-case `t` and `z`.
const DATE_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/

/**
 * Turns a date as people write it into the storage form `YYYY-MM-DDTHH:mm:ss.sssZ`, so that
 * dates compare as text. Without a zone the time is UTC. Returns `undefined` when the text is not
 * a real date (`2026-02-30`, `25:00`), so callers decide whether that is an error.
 *
 * @example
 *   normalizeDate('2026-01-02')                // '2026-01-02T00:00:00.000Z'
 *   normalizeDate('2026-01-02 10:00:00+02:00') // '2026-01-02T08:00:00.000Z'
 */
export function normalizeDate(text: string): string | undefined {
  const match = DATE_TEXT.exec(text)
  if (match === null) return undefined
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0))
  const fraction = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3))
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  ) {
    return undefined
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, fraction)
  const zone = match[8]
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '')
    const offset = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))
    if (Number(digits.slice(1, 3)) > 23 || Number(digits.slice(3, 5)) > 59) return undefined
    date.setTime(date.getTime() - (zone.startsWith('-') ? -offset : offset) * 60_000)
  }
  const resultYear = date.getUTCFullYear()
  // Outside 0000–9999 toISOString switches to ±YYYYYY, which would not sort with stored dates.
  return resultYear < 0 || resultYear > 9999 ? undefined : date.toISOString()
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0)
  date.setUTCFullYear(year, month, 0)
  return date.getUTCDate()
}
