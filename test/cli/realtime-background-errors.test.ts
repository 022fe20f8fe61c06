/**
 * A realtime failure no request waits for (here: a message on the bus that is not a batch of
 * events) is one JSON line from the server's logger, naming the component, and a count in
 * `er_background_errors_total`; never a bare line on stderr. The hub carries on.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, expect, it } from 'vitest'
import { parsePrometheusText } from '../helpers/prometheus-text.js'
import {
  loginSuperuser,
  runCli,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'
import { openSse, type SseClient } from '../helpers/sse-client.js'

const EMAIL = 'root@example.com'
const PASSWORD = 'correct horse battery'
const redisUrl = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `er-test-${randomBytes(6).toString('hex')}:`
const dir = mkdtempSync(join(tmpdir(), 'er-rt-bg-'))
let server: ServerProcess | undefined
let client: SseClient | undefined
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })

afterAll(async () => {
  client?.close()
  await server?.stop('SIGKILL')
  redis.disconnect()
  rmSync(dir, { recursive: true, force: true })
})

const backgroundErrors = async (url: string): Promise<number> => {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  const sample = parsePrometheusText(await res.text()).samples.find(
    (s) => s.name === 'er_background_errors_total' && s.labels.component === 'realtime-hub',
  )
  return sample?.value ?? 0
}

it('logs a failed bus message as JSON, counts it, and keeps delivering', async () => {
  await redis.connect()
  const env = { REDIS_URL: redisUrl, ER_BUS_PREFIX: prefix, ER_JOBS_PREFIX: `${prefix}jobs:` }
  const created = runCli(['superuser', 'create', EMAIL, PASSWORD, '--dir', dir], env)
  expect(created.code, created.err).toBe(0)
  server = await startServerProcess(['--dir', dir], env)
  const { url } = server
  const token = await loginSuperuser(url, EMAIL, PASSWORD)
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const made = await fetch(`${url}/api/collections`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'posts', fields: [{ name: 'title', type: 'text' }] }),
  })
  expect(made.status).toBe(201)
  client = await openSse(`${url}/api/realtime?topic=posts`, { authorization: `Bearer ${token}` })
  expect(client.status).toBe(200)
  const before = await backgroundErrors(url)

  // What a misbehaving publisher (or another deployment on the same prefix) could send.
  expect(await redis.publish(`${prefix}changes`, 'not a batch of events')).toBeGreaterThan(0)
  let line: Record<string, unknown> | undefined
  for (let i = 0; i < 200 && !line; i++) {
    line = server
      .output()
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => entry.msg === 'background task failed')
    if (!line) await new Promise((r) => setTimeout(r, 25))
  }
  expect(line).toMatchObject({
    level: 50,
    component: 'realtime-hub',
    err: { type: 'SyntaxError' },
  })
  expect(server.output()).not.toMatch(/^engineroom: realtime:/m)
  expect(await backgroundErrors(url)).toBe(before + 1)

  const write = await fetch(`${url}/api/collections/posts/records`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ title: 'after the bad message' }),
  })
  expect(write.status).toBe(201)
  const events = await client.waitFor((e) => e.length >= 1)
  expect(events.map((e) => e.event)).toEqual(['create'])
}, 120_000)
