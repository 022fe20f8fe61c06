/**
 * SIGTERM under load, on a real server process: every request the server accepted gets a
 * response (none is reset), and every write acknowledged with 201 is there after a restart.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'

const CLI = resolve('src/cli/main.ts')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const SUPERUSER = { identity: 'ops@example.com', password: 'a long passphrase' }

async function serve(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--http', '127.0.0.1:0'],
    { env: { ...process.env, ...env } },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((done) => child.on('exit', done))
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL')
    await exited
  })
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 60_000)
    child.stdout.on('data', () => {
      const match = /serving at (http:\/\/[\d.:]+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolveUrl(match[1] as string)
      }
    })
  })
  return { child, url, exited, output: () => output }
}

async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/api/collections/_superusers/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(SUPERUSER),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

type Outcome = { kind: 'status'; status: number; id?: string } | { kind: 'error'; code: string }

/** One POST; a network failure is reported by its cause code (ECONNREFUSED, ECONNRESET …). */
async function post(url: string, token: string, n: number): Promise<Outcome> {
  try {
    const res = await fetch(`${url}/api/collections/events/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ n }),
    })
    const body = (await res.json()) as { id?: string }
    return { kind: 'status', status: res.status, ...(res.status === 201 ? { id: body.id } : {}) }
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    return { kind: 'error', code: cause?.code ?? cause?.message ?? String(error) }
  }
}

function killProcess(child: ChildProcessWithoutNullStreams): void {
  child.kill('SIGTERM')
}

describe.each(await availableDialects())('graceful shutdown on %s', (dialect) => {
  it('answers every accepted request and loses no acknowledged write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-shutdown-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    let databaseUrl = ''
    if (dialect === 'postgres') {
      const schema = await createPostgresSchema()
      cleanups.push(() => schema.drop())
      databaseUrl = schema.url
    }
    const env = {
      ER_DIR: dir,
      DATABASE_URL: databaseUrl,
      ER_LOG_LEVEL: 'info',
      ER_RATE_LIMIT_READ: 'off',
      ER_RATE_LIMIT_WRITE: 'off',
      ER_RATE_LIMIT_AUTH: 'off',
      ER_SHUTDOWN_DRAIN: '300',
      // The test measures shutdown, not shedding: a busy CI machine must not trip it.
      ER_SHED_EVENT_LOOP_DELAY: '0',
      ER_SHUTDOWN_TIMEOUT: '10000',
    }
    const created = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'superuser', 'create', SUPERUSER.identity, SUPERUSER.password],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
    )
    expect(created.status, created.stderr).toBe(0)

    const first = await serve(env)
    const token = await login(first.url)
    const collection = await fetch(`${first.url}/api/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        name: 'events',
        fields: [{ name: 'n', type: 'number' }],
        rules: { list: '', view: '', create: '', update: null, delete: null },
      }),
    })
    expect(collection.status).toBe(201)

    // Bounded load: 8 clients posting in a loop, each for at most 400 requests or 20 s, each
    // stopping at its first refused connection (the listener is closed: nothing was accepted).
    const outcomes: Outcome[] = []
    let signalled = false
    const deadline = Date.now() + 20_000
    const client = async (worker: number) => {
      for (let i = 0; i < 400 && Date.now() < deadline; i++) {
        const outcome = await post(first.url, token, worker * 1000 + i)
        outcomes.push(outcome)
        if (!signalled && outcomes.filter((o) => o.kind === 'status').length >= 100) {
          signalled = true
          killProcess(first.child)
        }
        if (outcome.kind === 'error') return
      }
    }
    await Promise.all(Array.from({ length: 8 }, (_, worker) => client(worker)))
    expect(signalled).toBe(true)
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('shutdown complete')

    const errors = outcomes.flatMap((o) => (o.kind === 'error' ? [o.code] : []))
    // Refused connections were never accepted; a reset or a hang-up would be a dropped request.
    expect(errors.filter((code) => code !== 'ECONNREFUSED')).toEqual([])
    const statuses = outcomes.flatMap((o) => (o.kind === 'status' ? [o.status] : []))
    expect(statuses.every((s) => s === 201 || s === 503)).toBe(true)
    const acknowledged = outcomes.flatMap((o) => (o.kind === 'status' && o.id ? [o.id] : []))
    expect(acknowledged.length).toBeGreaterThanOrEqual(100)

    const second = await serve(env)
    const token2 = await login(second.url)
    const stored = new Set<string>()
    let cursor = ''
    for (let page = 0; page < 100; page++) {
      const res = await fetch(
        `${second.url}/api/collections/events/records?perPage=200&fields=id${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { headers: { authorization: `Bearer ${token2}` } },
      )
      expect(res.status).toBe(200)
      const body = (await res.json()) as { items: { id: string }[]; nextCursor: string | null }
      for (const item of body.items) stored.add(item.id)
      if (!body.nextCursor) break
      cursor = body.nextCursor
    }
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([])
    killProcess(second.child)
    expect(await second.exited).toBe(0)
  }, 120_000)
})
