/**
 * The most recent log lines of this process, for the dashboard's log viewer. Lines are kept as
 * the logger wrote them: after pino's `redact` paths and the `scrubSecrets` pass (see
 * logger-options.ts), so a secret that never reaches stdout never reaches this ring either.
 * Keeping a line costs one array store; lines are parsed only when someone reads them.
 */
export interface LogRing {
  /** Called with each written line (already redacted). */
  push(line: string): void
  /** Matching lines, newest first. */
  query(filter: LogFilter): LogLine[]
}

export interface LogFilter {
  /** Lowest level shown: trace, debug, info, warn, error, fatal. */
  level?: LogLevelName
  /** Part of the route template or path (`/api/collections/:name/records`). */
  route?: string
  /** Exact status (`404`) or class (`5xx`). */
  status?: string
  /** The request id (`reqId`) exactly. */
  requestId?: string
  /** At most this many lines (default 200). */
  limit?: number
}

export type LogLine = Record<string, unknown> & { level: number; levelName: string }

export const LOG_LEVELS = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
} as const
export type LogLevelName = keyof typeof LOG_LEVELS

const NAMES = new Map<number, string>(Object.entries(LOG_LEVELS).map(([n, v]) => [v, n]))

/** Longest line kept whole; a longer one (a huge stack or payload) keeps its head fields only. */
const MAX_LINE = 8 * 1024

/**
 * @example
 *   const ring = createLogRing()
 *   loggerOptions({ level: 'info', onLine: ring.push })
 *   ring.query({ level: 'warn', status: '5xx' })
 */
export function createLogRing(capacity = 1000): LogRing {
  const lines: string[] = []
  let head = 0

  function push(line: string): void {
    const kept = line.length <= MAX_LINE ? line : shorten(line)
    if (lines.length < capacity) lines.push(kept)
    else {
      lines[head] = kept
      head = (head + 1) % capacity
    }
  }

  function query(filter: LogFilter): LogLine[] {
    const minLevel = filter.level ? LOG_LEVELS[filter.level] : 0
    const limit = filter.limit ?? 200
    const route = filter.route?.toLowerCase()
    const status = filter.status
    const out: LogLine[] = []
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const raw = lines[(head + i) % lines.length] as string
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(raw) as Record<string, unknown>
      } catch {
        continue
      }
      const level = typeof entry.level === 'number' ? entry.level : 0
      if (level < minLevel) continue
      if (filter.requestId !== undefined && entry.reqId !== filter.requestId) continue
      if (route !== undefined && !matchesRoute(entry, route)) continue
      if (status !== undefined && !matchesStatus(entry.status, status)) continue
      out.push({ ...entry, level, levelName: NAMES.get(level) ?? String(level) })
    }
    return out
  }

  return { push, query }
}

function matchesRoute(entry: Record<string, unknown>, route: string): boolean {
  const template = typeof entry.route === 'string' ? entry.route.toLowerCase() : ''
  const path = typeof entry.path === 'string' ? entry.path.toLowerCase() : ''
  return template.includes(route) || path.includes(route)
}

function matchesStatus(value: unknown, wanted: string): boolean {
  if (typeof value !== 'number') return false
  if (/^[1-5]xx$/i.test(wanted)) return Math.floor(value / 100) === Number(wanted[0])
  return value === Number(wanted)
}

/** The fields a viewer filters on, from a line too long to keep; the rest is dropped. */
function shorten(line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>
    const keep = ['level', 'time', 'reqId', 'method', 'path', 'route', 'status', 'msg']
    const head = Object.fromEntries(keep.filter((k) => k in entry).map((k) => [k, entry[k]]))
    if (typeof head.msg === 'string') head.msg = head.msg.slice(0, 1000)
    return JSON.stringify({ ...head, truncated: true })
  } catch {
    return JSON.stringify({ level: 30, msg: line.slice(0, 1000), truncated: true })
  }
}
