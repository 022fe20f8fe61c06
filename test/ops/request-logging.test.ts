/**
 * Logs: one JSON line per request with its id, route template, status, duration and user, and
 * no secret anywhere — real tokens, passwords and cookies are sent and searched for.
 */
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { loggerOptions } from '../../src/http/plugins/logger-options.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const engines: TestEngine[] = []
afterEach(async () => {
  for (const t of engines.splice(0)) await t.close()
})

function captureStream() {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'))
      callback()
    },
  })
  return {
    stream,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

describe.each(await availableDialects())('request logs on %s', (dialect) => {
  it('write one line per request with id, route, status, duration and user', async () => {
    const log = captureStream()
    const t = await createTestEngine(dialect, {
      logger: loggerOptions({ level: 'info', stream: log.stream }),
    })
    engines.push(t)
    await createCollection(t, { name: 'notes', fields: [{ name: 'body', type: 'text' }] })
    const res = await t.call({
      method: 'GET',
      url: '/api/collections/notes/records?filter=body%3D%22x%22',
      headers: { 'x-request-id': 'client-chosen-id.42' },
    })
    expect(res.headers['x-request-id']).toBe('client-chosen-id.42')
    const anonymous = await t.call({ method: 'GET', url: '/healthz', anonymous: true })
    const generated = anonymous.headers['x-request-id'] as string
    expect(generated).toMatch(/^[0-9a-f-]{36}$/)

    const lines = log.lines().filter((line) => line.msg === 'request')
    expect(lines).toHaveLength(3)
    const superuserId = t.engine.registry.get('_superusers') && lines[1]?.userId
    expect(lines[1]).toMatchObject({
      level: 30,
      reqId: 'client-chosen-id.42',
      method: 'GET',
      path: '/api/collections/notes/records',
      route: '/api/collections/:name/records',
      status: 200,
      userCollection: '_superusers',
    })
    expect(typeof superuserId).toBe('string')
    expect(typeof lines[1]?.durationMs).toBe('number')
    expect(lines[2]).toMatchObject({ reqId: generated, route: '/healthz', status: 200 })
    expect(lines[2]).not.toHaveProperty('userId')
    // Query strings stay out of logs: filters can hold personal data.
    expect(log.text()).not.toContain('filter=')
  })

  it('never write a token, password or cookie, even inside error messages', async () => {
    const log = captureStream()
    const t = await createTestEngine(dialect, {
      logger: loggerOptions({ level: 'trace', stream: log.stream }),
    })
    engines.push(t)
    const password = 'correct horse battery'
    const login = await t.call({
      method: 'POST',
      url: '/api/collections/_superusers/auth/password',
      payload: { identity: 'root@example.com', password },
      anonymous: true,
      headers: { cookie: 'er_session=cookie-secret-value-123' },
    })
    expect(login.statusCode, login.body).toBe(200)
    const { token, refreshToken } = login.json() as { token: string; refreshToken: string }
    await t.call({
      method: 'POST',
      url: '/api/collections/_superusers/auth/password',
      payload: { identity: 'root@example.com', password: 'wrong-password-secret' },
      anonymous: true,
    })
    await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { authorization: `Bearer ${token}` },
    })
    await t.call({
      method: 'GET',
      url: '/api/collections',
      headers: { authorization: 'Bearer garbage.tok.en' },
    })
    // What a careless hook or driver might log: secrets inside objects and messages.
    t.app.log.error(
      {
        err: new Error(
          `upstream said {"password":"${password}","token":"${token}"} for Bearer ${refreshToken}`,
        ),
        body: { email: 'a@b.c', password },
        headers: { authorization: `Bearer ${token}` },
        url: `/reset?token=${refreshToken}&password=${encodeURIComponent(password)}`,
      },
      'a failure quoting secrets',
    )

    const text = log.text()
    expect(text).toContain('a failure quoting secrets')
    for (const secret of [
      token,
      refreshToken,
      password,
      encodeURIComponent(password),
      'wrong-password-secret',
      'cookie-secret-value-123',
      'garbage.tok.en',
      token.split('.')[2] as string,
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(text).toContain('[redacted')
  })
})
