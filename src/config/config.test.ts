import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactUrl } from './config.js'

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({}, {})
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8090 })
    expect(config.dataDir).toMatch(/er_data$/)
    expect(config.databaseUrl).toBeUndefined()
    expect(config.sqliteSynchronous).toBe('NORMAL')
  })

  it('lets flags win over the environment', () => {
    const config = loadConfig(
      { http: '0.0.0.0:9000', dir: '/tmp/x' },
      { ER_HTTP: '127.0.0.1:1', ER_DIR: '/tmp/y' },
    )
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9000 })
    expect(config.dataDir).toBe('/tmp/x')
  })

  it('reads IPv6 listen addresses', () => {
    expect(loadConfig({ http: '[::1]:8090' }, {}).http).toEqual({ host: '::1', port: 8090 })
  })

  it.each([
    [{ ER_HTTP: 'nope' }, /^ER_HTTP: expected host:port/],
    [{ ER_HTTP: '127.0.0.1:99999' }, /^ER_HTTP: expected host:port/],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: expected a postgres: or postgresql: URL/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: expected a URL/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: expected a redis: or rediss: URL/],
    [{ ER_BODY_LIMIT: '12abc' }, /^ER_BODY_LIMIT: expected a whole number from 1024/],
    [{ ER_BODY_LIMIT: '10' }, /^ER_BODY_LIMIT: expected a whole number/],
    [{ ER_SQLITE_SYNC: 'OFF' }, /^ER_SQLITE_SYNC: expected one of NORMAL, FULL/],
    [{ ER_LOG_LEVEL: 'loud' }, /^ER_LOG_LEVEL: expected one of fatal/],
    [{ ER_REALTIME_RETENTION: '1w' }, /^ER_REALTIME_RETENTION: expected a duration/],
    [{ ER_REALTIME_RETENTION: '0' }, /^ER_REALTIME_RETENTION: expected a duration/],
    [{ ER_REALTIME_MAX_TOPICS: '0' }, /^ER_REALTIME_MAX_TOPICS: expected a whole number/],
    [{ ER_WORKERS: 'many' }, /^ER_WORKERS: expected a whole number/],
  ])('rejects %j with one line naming the setting', (env, message) => {
    expect(() => loadConfig({}, env)).toThrow(ConfigError)
    expect(() => loadConfig({}, env)).toThrow(message)
  })

  it.each([
    ['24h', { seconds: 86_400 }],
    ['90m', { seconds: 5400 }],
    ['7d', { seconds: 604_800 }],
    ['5000', { events: 5000 }],
  ])('reads ER_REALTIME_RETENTION=%s', (text, retention) => {
    expect(loadConfig({}, { ER_REALTIME_RETENTION: text }).realtime.retention).toEqual(retention)
  })

  it('lets --workers win over ER_WORKERS', () => {
    expect(loadConfig({ workers: '3' }, { ER_WORKERS: '2' }).workers).toBe(3)
    expect(loadConfig({}, {}).workers).toBe(1)
  })

  it('never echoes a database password', () => {
    expect(() => loadConfig({}, { DATABASE_URL: 'mysql://u:hunter2@h/db' })).not.toThrow(/hunter2/)
    expect(redactUrl('postgres://u:hunter2@h:5432/db')).toBe('postgres://u:***@h:5432/db')
  })
})
