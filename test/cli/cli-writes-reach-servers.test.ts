/**
 * One-off CLI commands that write (`import`, `schema import`, `migrate` …) beside a running
 * `serve` on PostgreSQL + Redis, with no ER_BUS_PREFIX: they must announce their writes on the
 * deployment's bus (`er:<deployment id>:`), as serve and worker nodes do. Else a list the server
 * cached (ER_CACHE) stays stale until the entry expires, and a schema change waits for the
 * servers' poll. `restore` (SQLite here) moves the cache versions of the restored collections.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable, postgresUrl } from '../helpers/dialects.js'
import {
  loginSuperuser,
  runCliAsync,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'

const REDIS_URL = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const EMAIL = 'root@example.com'
const PASSWORD = 'correct horse battery'
const postgres = await isPostgresAvailable()

const cleanups: (() => Promise<void> | void)[] = []
let server: ServerProcess
let dir = ''
let env: Record<string, string> = {}
let token = ''
let prefix = ''

afterAll(async () => {
  await server?.stop('SIGKILL')
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function deploymentId(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `select value from "${schema}"."_settings" where key = 'deployment_id'`,
    )
    return (rows[0] as { value: string }).value
  } finally {
    await client.end()
  }
}

/** Calls `read` every 50 ms until `done` holds of its answer; the last answer either way. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number) {
  const until = Date.now() + ms
  let value = await read()
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50))
    value = await read()
  }
  return value
}

/** The messages on the deployment's schema channel from now on, until `stop`. */
async function listenToSchemaChannel(): Promise<string[] & { stop(): void }> {
  const subscriber = new Redis(REDIS_URL)
  const messages: string[] = []
  await subscriber.subscribe(`${prefix}schema`)
  subscriber.on('message', (_channel: string, message: string) => messages.push(message))
  return Object.assign(messages, { stop: () => subscriber.disconnect() })
}

const cacheHits = async () =>
  Number(
    /^er_response_cache_requests_total\{outcome="hit"\} (\S+)$/m.exec(
      await (await fetch(`${server.url}/metrics`)).text(),
    )?.[1] ?? 0,
  )

describe.skipIf(!postgres)('CLI writes beside a running serve (PostgreSQL + Redis)', () => {
  beforeAll(async () => {
    const schema = await createPostgresSchema()
    cleanups.push(() => schema.drop())
    dir = mkdtempSync(join(tmpdir(), 'er-cli-writes-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'cli'))
    env = {
      DATABASE_URL: schema.url,
      REDIS_URL,
      // Unset (empty): the deployment's own prefix, which the CLI must find as serve does.
      ER_BUS_PREFIX: '',
      ER_JOBS_PREFIX: '',
      ER_CACHE: 'true',
      // Far longer than any wait below: only an announcement can make the server read again.
      ER_CACHE_TTL: '3600',
      ER_RATE_LIMIT_READ: 'off',
    }
    const created = await runCliAsync(
      ['superuser', 'create', EMAIL, PASSWORD, '--dir', join(dir, 'cli')],
      env,
    )
    expect(created.code, created.err).toBe(0)
    server = await startServerProcess(['--dir', join(dir, 'node')], env)
    token = await loginSuperuser(server.url, EMAIL, PASSWORD)
    prefix = `er:${await deploymentId(schema.schema)}:`
    cleanups.push(async () => {
      const redis = new Redis(REDIS_URL)
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    })
    const res = await fetch(`${server.url}/api/collections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'items',
        fields: [{ name: 'title', type: 'text' }],
        rules: { list: '', view: '', create: null, update: null, delete: null },
      }),
    })
    expect(res.status).toBe(201)
  }, 90_000)

  it("engineroom import: the server's cached list shows the imported records at once", async () => {
    const list = async () =>
      (
        (await (await fetch(`${server.url}/api/collections/items/records`)).json()) as {
          items: unknown[]
        }
      ).items.length
    // Listed until the answer comes from the cache (the first reads bypass it while the
    // collection's version is read from Redis).
    const hitsBefore = await cacheHits()
    const cached = await poll(
      async () => ({ total: await list(), hits: await cacheHits() }),
      (read) => read.hits > hitsBefore,
      10_000,
    )
    expect(cached).toEqual({ total: 0, hits: expect.any(Number) })
    expect(cached.hits).toBeGreaterThan(hitsBefore)

    const file = join(dir, 'items.jsonl')
    writeFileSync(
      file,
      ['one', 'two', 'three'].map((title) => JSON.stringify({ title })).join('\n'),
    )
    const imported = await runCliAsync(['import', 'items', file, '--dir', join(dir, 'cli')], env)
    expect(imported.code, imported.err).toBe(0)
    expect(imported.out).toContain('Imported 3 records')
    // The bus delivers in milliseconds; a lost message would still show within the cache's
    // 1 s version recheck. Without an announcement, the TTL (an hour).
    expect(await poll(list, (total) => total === 3, 5_000)).toBe(3)
  }, 60_000)

  it('engineroom schema import announces the change on the deployment bus', async () => {
    const announced = await listenToSchemaChannel()
    try {
      const file = join(dir, 'schema.json')
      writeFileSync(
        file,
        JSON.stringify([{ name: 'notes', fields: [{ name: 'body', type: 'text' }] }]),
      )
      const imported = await runCliAsync(['schema', 'import', file, '--dir', join(dir, 'cli')], env)
      expect(imported.code, imported.err).toBe(0)
      expect(imported.out).toContain('1 created')
      await poll(
        async () => announced.length,
        (n) => n > 0,
        5_000,
      )
      expect(announced.length).toBeGreaterThan(0)
    } finally {
      announced.stop()
    }
    const notes = await fetch(`${server.url}/api/collections/notes/records`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(notes.status).toBe(200)
  }, 60_000)

  it('engineroom migrate announces the change on the deployment bus', async () => {
    // A new migration: the one `schema import` wrote for "notes", made into one for "tags".
    const written = join(dir, 'cli', 'migrations')
    const notes = readdirSync(written).find((name) => name.endsWith('.json'))
    expect(notes).toBeDefined()
    const text = readFileSync(join(written, notes as string), 'utf8')
    const { id } = (JSON.parse(text) as { up: [{ collection: { id: string } }] }).up[0].collection
    const folder = join(dir, 'to-apply')
    mkdirSync(folder)
    writeFileSync(
      join(folder, '29990101000000-create-tags.json'),
      text.replaceAll('"notes"', '"tags"').replaceAll(id, `${id.slice(0, -4)}tags`),
    )
    const announced = await listenToSchemaChannel()
    try {
      const migrated = await runCliAsync(
        ['migrate', '--from', folder, '--dir', join(dir, 'cli')],
        env,
      )
      expect(migrated.code, migrated.err).toBe(0)
      expect(migrated.out).toContain('Applied 1 migration(s)')
      await poll(
        async () => announced.length,
        (n) => n > 0,
        5_000,
      )
      expect(announced.length).toBeGreaterThan(0)
    } finally {
      announced.stop()
    }
    const tags = await fetch(`${server.url}/api/collections/tags/records`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(tags.status).toBe(200)
  }, 60_000)
})

describe('engineroom restore with Redis', () => {
  it('moves the cache version of every restored collection: no answer cached from the data it replaced is served', async () => {
    const root = mkdtempSync(join(tmpdir(), 'er-cli-restore-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    const own = `er-test-${randomBytes(6).toString('hex')}:`
    const redis = new Redis(REDIS_URL)
    cleanups.push(async () => {
      const keys = await redis.keys(`${own}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    })
    const data = join(root, 'data')
    mkdirSync(data)
    const restoreEnv = {
      ER_DIR: data,
      REDIS_URL,
      ER_BUS_PREFIX: own,
      ER_JOBS_PREFIX: `${own}jobs:`,
    }
    const created = await runCliAsync(['superuser', 'create', EMAIL, PASSWORD], restoreEnv)
    expect(created.code, created.err).toBe(0)
    const backup = await runCliAsync(['backup', '--out', join(root, 'backups')], restoreEnv)
    expect(backup.code, backup.err).toBe(0)
    const archive = join(root, 'backups', readdirSync(join(root, 'backups'))[0] as string)
    // What the servers of this deployment counted before the restore (kept in Redis, not in the
    // database): answers cached under these versions must become unreachable.
    const version = `${own}cache:v:users`
    await redis.set(version, '41')
    const restored = await runCliAsync(['restore', archive, '--force'], restoreEnv)
    expect(restored.code, restored.err).toBe(0)
    expect(Number(await redis.get(version))).toBeGreaterThan(41)
  }, 60_000)
})
