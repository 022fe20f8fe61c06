/**
 * Extensions in a real `engineroom serve --extensions file.ts`: the TypeScript is compiled on
 * load, a hook's stack trace names the .ts line, and an after hook interrupted by kill -9 between
 * commit and completion runs again after a restart.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

const dialects = await availableDialects()

/** The extension, as a user would write it; the throw is on line THROW_LINE. */
const EXTENSION = `import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { defineExtension } from 'engineroom'

const runs = (file: string, id: string): number =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\\n').filter((line) => line === id).length : 0

export default defineExtension((er) => {
  er.records('notes').before('create', (e) => {
    const title: string = String(e.record.title)
    if (title === 'crash') throw new Error('typed failure in the hook')
  })
  er.records('notes').after('create', async (e) => {
    const file = process.env.HOOK_RUNS as string
    const before = runs(file, e.id)
    appendFileSync(file, e.id + '\\n')
    // The first run never finishes: the test kills the server while it hangs here.
    if (before === 0) await new Promise(() => {})
  })
})
`
const THROW_LINE = 10

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (check()) return
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.each(dialects)('an extension in a serve process on %s', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'er-ext-'))
  const extensionFile = join(dir, 'extension', 'index.ts')
  const runsFile = join(dir, 'hook-runs.txt')
  let env: Record<string, string>
  let drop = async () => {}
  let server: ServerProcess | undefined
  let token = ''

  const start = async () => {
    server = await startServerProcess(['--extensions', extensionFile], env)
    token = await loginSuperuser(server.url, 'root@example.com', 'correct horse battery')
  }
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server?.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })

  beforeAll(async () => {
    rmSync(join(dir, 'extension'), { recursive: true, force: true })
    mkdirSync(join(dir, 'extension'))
    writeFileSync(extensionFile, EXTENSION)
    env = { ER_DIR: join(dir, 'data'), HOOK_RUNS: runsFile }
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
    await start()
    const res = await call('POST', '/api/collections', {
      name: 'notes',
      fields: [{ name: 'title', type: 'text' }],
    })
    expect(res.status).toBe(201)
  }, 120_000)
  afterAll(async () => {
    await server?.stop('SIGKILL')
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers a throwing hook with a 500 whose logged stack names the .ts line', async () => {
    const res = await call('POST', '/api/collections/notes/records', { title: 'crash' })
    expect(res.status).toBe(500)
    const body = (await res.json()) as { requestId?: string }
    expect(body.requestId).toMatch(/.+/)
    await until(() => server?.output().includes('typed failure in the hook') === true, 'the log')
    const output = server?.output() ?? ''
    expect(output).toContain(`${extensionFile}:${THROW_LINE}:`)
    expect(output).toContain(body.requestId)
    // Nothing of the compiled module is left beside the source.
    const { readdirSync } = await import('node:fs')
    expect(readdirSync(join(dir, 'extension'))).toEqual(['index.ts'])
  })

  it('runs an after hook again after a kill -9 between commit and its end', async () => {
    const res = await call('POST', '/api/collections/notes/records', { title: 'survives' })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const count = () =>
      existsSync(runsFile)
        ? readFileSync(runsFile, 'utf8')
            .split('\n')
            .filter((l) => l === id).length
        : 0
    await until(() => count() === 1, 'the first run of the hook')
    await server?.stop('SIGKILL')
    await start()
    // The dead node's lease lapses (10 s), then the hook runs again, and only it finishes.
    await until(() => count() === 2, 'the hook to run again after the restart')
    expect(count()).toBe(2)
  }, 120_000)
})
