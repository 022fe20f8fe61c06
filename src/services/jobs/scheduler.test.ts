import { describe, expect, it } from 'vitest'
import { EngineError } from '../../core/errors/index.js'
import { compileCron } from './scheduler.js'

/** Instants around month ends, a leap day and European DST changes (which UTC never has). */
const INSTANTS = [
  '2026-03-29T00:59:59.500Z',
  '2026-03-29T01:00:00.000Z',
  '2026-10-25T01:30:00.000Z',
  '2024-02-29T23:59:59.000Z',
  '2026-12-31T23:59:30.000Z',
  '2027-01-01T00:00:00.000Z',
].map((iso) => new Date(iso))

const PATTERNS = ['0 * * * *', '*/5 * * * *', '0 3 * * *', '30 2 * * 0', '0 0 1 * *', '0 0 29 2 *']

const ticks = (pattern: string, tz: string) => {
  const cron = compileCron(pattern, tz, 'test')
  return INSTANTS.map((at) => ({
    next: cron.nextRun(at)?.toISOString(),
    previous: cron.previousRuns(2, at).map((d) => d.toISOString()),
  }))
}

describe('compileCron', () => {
  // UTC is computed as a fixed offset of 0 (no Intl, so no ICU data in the RSS): it must give
  // the ticks that croner gives for an IANA zone that is UTC.
  it.each(PATTERNS)('UTC ticks of "%s" are those of Etc/UTC', (pattern) => {
    const utc = ticks(pattern, 'UTC')
    expect(utc).toEqual(ticks(pattern, 'Etc/UTC'))
    expect(utc.every((t) => t.next !== undefined)).toBe(true)
  })

  it('still follows a zone with DST', () => {
    const cron = compileCron('0 3 * * *', 'Europe/Paris', 'test')
    // 29 March 2026: Paris moves from UTC+1 to UTC+2 at 01:00 UTC.
    expect(cron.nextRun(new Date('2026-03-28T12:00:00Z'))?.toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    )
    expect(cron.nextRun(new Date('2026-03-29T12:00:00Z'))?.toISOString()).toBe(
      '2026-03-30T01:00:00.000Z',
    )
  })

  it('names the field at fault', () => {
    const fieldOf = (pattern: string, tz: string) => {
      try {
        compileCron(pattern, tz, 'test')
      } catch (error) {
        return error instanceof EngineError
          ? Object.keys(error.errors ?? {})
          : ['not an EngineError']
      }
      return []
    }
    expect(fieldOf('0 * * * *', 'Mars/Olympus')).toEqual(['tz'])
    expect(fieldOf('61 * * * *', 'UTC')).toEqual(['cron'])
    expect(fieldOf('61 * * * *', 'Europe/Paris')).toEqual(['cron'])
  })
})
