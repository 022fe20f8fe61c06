/**
 * `engineroom dev` reloads the extension when its file changes, inside the running process:
 * new hooks and route handlers answer at once, and a realtime stream opened before the reload
 * keeps receiving events on the same connection.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'
import {
  loginSuperuser,
  runCli,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { openSse } from '../helpers/sse-client.js'

const dialects = await availableDialects()

const extensionSource = (version: number, transform: 'toUpperCase' | 'toLowerCase') => `
import { defineExtension } from 'engineroom'
export default defineExtension((er) => {
  er.records('notes').before('create', (e) => {
    e.record.title = String(e.record.title).${transform}()
  })
  er.route('GET', '/api/ext/version', () => ({ version: ${version} }))
})
`

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.each(dialects)('engineroom dev on %s', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'er-dev-'))
  const file = join(dir, 'extension', 'index.ts')
  let server: ServerProcess | undefined
  let drop = async () => {}
  let token = ''
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server?.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  beforeAll(async () => {
    mkdirSync(join(dir, 'extension'))
    writeFileSync(file, extensionSource(1, 'toUpperCase'))
    const env: Record<string, string> = { ER_DIR: join(dir, 'data') }
    // CLI commands other than serve refuse a data directory that does not exist (a typo).
    mkdirSync(join(dir, 'data'), { recursive: true })
    if (dialect === 'postgres') {
      const schema = await createPostgresSchema()
      env.DATABASE_URL = schema.url
      drop = schema.drop
    }
    const created = runCli(
      ['superuser', 'create', 'root@example.com', 'correct horse battery'],
      env,
    )
    expect(created.code, created.err).toBe(0)
    server = await startServerProcess(['--extensions', file], env, undefined, 'dev')
    token = await loginSuperuser(server.url, 'root@example.com', 'correct horse battery')
    const res = await call('POST', '/api/collections', {
      name: 'notes',
      fields: [{ name: 'title', type: 'text' }],
      rules: { list: '', view: '', create: null, update: null, delete: null },
    })
    expect(res.status).toBe(201)
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('swaps hooks and route handlers without dropping an open stream', async () => {
    const stream = await openSse(`${server?.url}/api/realtime?topic=notes`, {
      authorization: `Bearer ${token}`,
    })
    expect(stream.status).toBe(200)
    expect(
      (await call('POST', '/api/collections/notes/records', { title: 'One' })).body.title,
    ).toBe('ONE')
    expect((await call('GET', '/api/ext/version')).body).toEqual({ version: 1 })

    writeFileSync(file, extensionSource(2, 'toLowerCase'))
    await until(() => server?.output().includes('extension reloaded') === true, 'the reload')

    expect(
      (await call('POST', '/api/collections/notes/records', { title: 'Two' })).body.title,
    ).toBe('two')
    expect((await call('GET', '/api/ext/version')).body).toEqual({ version: 2 })
    // The stream opened before the reload saw both creates, on the same connection.
    await stream.waitFor((events) => events.filter((e) => e.event === 'create').length === 2)
    expect(stream.ended).toBe(false)
    stream.close()
  })

  it('keeps the running extension when the changed file does not compile', async () => {
    writeFileSync(file, 'export default (er => {')
    await until(
      () => server?.output().includes('the extension was not reloaded') === true,
      'the failed reload to be reported',
    )
    expect((await call('GET', '/api/ext/version')).body).toEqual({ version: 2 })
  })
})
