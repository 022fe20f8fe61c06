import { describe, expect, it } from 'vitest'
import { backupsToKeep, parseRetention } from './backup-retention.js'

/** One backup a day at 03:00 UTC for `days` days ending 2026-12-03, newest first by name. */
function daily(days: number) {
  return Array.from({ length: days }, (_, i) => {
    const created = new Date(Date.UTC(2026, 11, 3 - i, 3))
    return { name: created.toISOString().slice(0, 10), created }
  })
}

describe('backup retention', () => {
  it('parses a count or a list of kinds, refusing anything else', () => {
    expect(parseRetention('7')).toEqual({ last: 7 })
    expect(parseRetention(' daily=7, weekly=4,monthly=6 ')).toEqual({
      daily: 7,
      weekly: 4,
      monthly: 6,
    })
    for (const bad of ['0', '-1', 'daily', 'daily=x', 'yearly=2', 'daily=1=2', '1.5', '']) {
      expect(() => parseRetention(bad), bad).toThrow()
    }
  })

  it('keeps exactly the newest N', () => {
    const kept = backupsToKeep(daily(10), { last: 3 })
    expect([...kept].sort()).toEqual(['2026-12-01', '2026-12-02', '2026-12-03'])
  })

  it('keeps the newest of each of the latest days, weeks and months', () => {
    // Two backups a day: only the later one of each day counts as that day's.
    const backups = daily(120).flatMap((b) => [
      b,
      { name: `${b.name}-early`, created: new Date(b.created.getTime() - 3600_000) },
    ])
    const kept = [...backupsToKeep(backups, { daily: 3, weekly: 2, monthly: 3 })].sort()
    expect(kept).toEqual([
      '2026-10-31', // October's newest
      '2026-11-29', // Sunday: the newest of ISO week 48
      '2026-11-30', // November's newest
      '2026-12-01',
      '2026-12-02',
      '2026-12-03', // also week 49's and December's newest
    ])
  })

  it('always keeps the newest, and nothing from an empty list', () => {
    expect([...backupsToKeep(daily(3), {})]).toEqual(['2026-12-03'])
    expect(backupsToKeep([], { last: 5 }).size).toBe(0)
  })
})
