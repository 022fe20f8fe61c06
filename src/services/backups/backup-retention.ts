/**
 * Which backups to keep: the newest `last`, plus the newest of each of the latest `daily` days,
 * `weekly` ISO weeks and `monthly` months (UTC), the usual grandfather-father-son rotation.
 * The newest backup is always kept.
 *
 * @example
 *   parseRetention('7')                          // { last: 7 }
 *   parseRetention('daily=7,weekly=4,monthly=6') // a week of days, a month of weeks, half a year
 */
export interface RetentionPolicy {
  last?: number
  daily?: number
  weekly?: number
  monthly?: number
}

const KINDS = ['last', 'daily', 'weekly', 'monthly'] as const

/** Parses `ER_BACKUP_KEEP`; throws a message naming what is wrong. */
export function parseRetention(text: string): RetentionPolicy {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) return { last: checkCount(trimmed) }
  const policy: RetentionPolicy = {}
  for (const item of trimmed.split(',')) {
    const [kind, count, ...rest] = item.trim().split('=')
    if (!KINDS.includes(kind as (typeof KINDS)[number]) || count === undefined || rest.length > 0) {
      throw new Error(
        `expected a number or a list like daily=7,weekly=4,monthly=6 (kinds: ${KINDS.join(', ')}), got "${item.trim()}"`,
      )
    }
    policy[kind as (typeof KINDS)[number]] = checkCount(count)
  }
  return policy
}

function checkCount(text: string): number {
  const count = Number(text)
  if (!/^\d+$/.test(text) || count < 1 || count > 10_000) {
    throw new Error(`a count must be a whole number from 1 to 10000, got "${text}"`)
  }
  return count
}

/** The names of `backups` to keep under `policy`; every other one may be deleted. */
export function backupsToKeep(
  backups: readonly { name: string; created: Date }[],
  policy: RetentionPolicy,
): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.created.getTime() - a.created.getTime())
  const keep = new Set<string>()
  if (newestFirst[0]) keep.add(newestFirst[0].name)
  for (const backup of newestFirst.slice(0, policy.last ?? 0)) keep.add(backup.name)
  const byPeriod = (count: number | undefined, period: (d: Date) => string) => {
    if (!count) return
    const seen = new Set<string>()
    for (const backup of newestFirst) {
      const key = period(backup.created)
      if (seen.has(key)) continue
      if (seen.size === count) break
      seen.add(key)
      keep.add(backup.name)
    }
  }
  byPeriod(policy.daily, (d) => d.toISOString().slice(0, 10))
  byPeriod(policy.weekly, isoWeek)
  byPeriod(policy.monthly, (d) => d.toISOString().slice(0, 7))
  return keep
}

/** `2026-W49`: the ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday). */
function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()))
  const weekday = day.getUTCDay() || 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday)
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1)
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7)
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`
}
