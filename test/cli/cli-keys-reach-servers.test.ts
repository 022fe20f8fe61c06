/**
 * `engineroom keys rotate|remove` beside a running `serve` on PostgreSQL + Redis. The keys live
 * in the database, but each node holds them in memory: the command must announce the change on
 * the deployment's bus, so a removed (leaked) key stops verifying at once rather than at the
 * node's next re-read, and a new key signs and verifies at once on every node.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { importJWK, SignJWT, type JWK } from 'jose'
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
/** Far below the nodes' one-minute re-read of the keys, which must not be what the test sees. */
const AT_ONCE_MS = 3_000
const postgres = await isPostgresAvailable()

const cleanups: (() => Promise<void> | void)[] = []
let server: ServerProcess
let schema = ''
let dir = ''
let env: Record<string, string> = {}

afterAll(async () => {
  await server?.stop('SIGKILL')
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function readSetting(key: string): Promise<string> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `select value from "${schema}"."_settings" where key = $1`,
      [key],
    )
    return (rows[0] as { value: string }).value
  } finally {
    await client.end()
  }
}

const part = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index] as string, 'base64url').toString()) as Record<
    string,
    unknown
  >
const kidOf = (token: string) => part(token, 0).kid as string

/** A token with `like`'s claims, signed by the stored key `kid` (as another node would). */
async function signElsewhere(like: string, kid: string): Promise<string> {
  const keys = JSON.parse(await readSetting('jwt_signing_keys')) as {
    kid: string
    privateJwk: JWK
  }[]
  const key = keys.find((k) => k.kid === kid)
  expect(key, `stored key ${kid}`).toBeDefined()
  const { sub, cid, tk, sid } = part(like, 1) as Record<string, string>
  return new SignJWT({ cid, tk, sid })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
    .setSubject(sub as string)
    .setIssuer('engineroom')
    .setAudience('engineroom:api')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(await importJWK((key as { privateJwk: JWK }).privateJwk, 'EdDSA'))
}

/** The status of a superuser-only read with `token`. */
const statusWith = async (token: string) =>
  (await fetch(`${server.url}/api/collections`, { headers: { authorization: `Bearer ${token}` } }))
    .status

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

describe.skipIf(!postgres)('engineroom keys beside a running serve (PostgreSQL + Redis)', () => {
  let first = ''
  let rotated = ''

  beforeAll(async () => {
    const created = await createPostgresSchema()
    schema = created.schema
    cleanups.push(() => created.drop())
    dir = mkdtempSync(join(tmpdir(), 'er-cli-keys-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'cli'))
    env = {
      DATABASE_URL: created.url,
      REDIS_URL,
      // Unset (empty): the deployment's own prefix (`er:<fresh deployment id>:`), which the CLI
      // must find as serve does.
      ER_BUS_PREFIX: '',
      ER_JOBS_PREFIX: '',
      ER_RATE_LIMIT_READ: 'off',
      ER_RATE_LIMIT_AUTH: 'off',
    }
    const superuser = await runCliAsync(
      ['superuser', 'create', EMAIL, PASSWORD, '--dir', join(dir, 'cli')],
      env,
    )
    expect(superuser.code, superuser.err).toBe(0)
    server = await startServerProcess(['--dir', join(dir, 'node')], env)
    const prefix = `er:${await readSetting('deployment_id')}:`
    cleanups.push(async () => {
      const redis = new Redis(REDIS_URL)
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    })
    first = await loginSuperuser(server.url, EMAIL, PASSWORD)
    expect(await statusWith(first)).toBe(200)
  }, 90_000)

  it('keys rotate: the server signs with the new key, and accepts tokens signed with it elsewhere, at once', async () => {
    const out = await runCliAsync(['keys', 'rotate', '--dir', join(dir, 'cli')], env)
    expect(out.code, out.err).toBe(0)
    const kid = /New signing key (\w+)\./.exec(out.out)?.[1] ?? ''
    expect(kid).not.toBe('')
    expect(kid).not.toBe(kidOf(first))
    // A burst, as clients of another node that signs with the new key would send: each request
    // is accepted, none refused while the node is still reading the keys.
    const elsewhere = await signElsewhere(first, kid)
    rotated = elsewhere
    const statuses = await Promise.all(Array.from({ length: 6 }, () => statusWith(elsewhere)))
    expect(statuses).toEqual(Array(6).fill(200))
    const signedHere = await poll(
      () => loginSuperuser(server.url, EMAIL, PASSWORD),
      (token) => kidOf(token) === kid,
      AT_ONCE_MS,
    )
    expect(kidOf(signedHere)).toBe(kid)
    expect(await statusWith(signedHere)).toBe(200)
    expect(out.out).toMatch(/told on the bus/)
  }, 60_000)

  it('keys remove: tokens the removed key signed are refused within seconds', async () => {
    expect(rotated).not.toBe('')
    // Verified (and remembered) just before the key goes.
    expect(await statusWith(first)).toBe(200)
    const out = await runCliAsync(['keys', 'remove', kidOf(first), '--dir', join(dir, 'cli')], env)
    expect(out.code, out.err).toBe(0)
    const removedAt = Date.now()
    const status = await poll(
      () => statusWith(first),
      (s) => s === 401,
      AT_ONCE_MS,
    )
    expect(status).toBe(401)
    expect(Date.now() - removedAt).toBeLessThan(AT_ONCE_MS)
    expect(await statusWith(rotated)).toBe(200)
    expect(out.out).toContain(`Removed signing key ${kidOf(first)}.`)
    expect(out.out).toMatch(/told on the bus/)
  }, 60_000)
})

describe('engineroom keys without a bus to the servers', () => {
  it('says when a running server picks the change up: at its re-read, within a minute', async () => {
    const root = mkdtempSync(join(tmpdir(), 'er-cli-keys-sqlite-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    const plain = { ER_DIR: root, REDIS_URL: '' }
    const rotated = await runCliAsync(['keys', 'rotate'], plain)
    expect(rotated.code, rotated.err).toBe(0)
    expect(rotated.out).toMatch(/signs with it within a minute/)
    expect(rotated.out).toMatch(/without REDIS_URL this command cannot reach a running server/)
    const listed = await runCliAsync(['keys', 'list'], plain)
    const [old] = listed.out.trim().split('\n')
    const removed = await runCliAsync(['keys', 'remove', (old ?? '').split('\t')[0] ?? ''], plain)
    expect(removed.code, removed.err).toBe(0)
    expect(removed.out).toMatch(/still accepts its tokens for up to a minute/)
    expect(removed.out).toMatch(/restart it to refuse them at once/)
  }, 60_000)

  it('changes nothing when REDIS_URL names no Redis, and says so in one line', async () => {
    const root = mkdtempSync(join(tmpdir(), 'er-cli-keys-noredis-'))
    cleanups.push(() => rmSync(root, { recursive: true, force: true }))
    const first = await runCliAsync(['keys', 'rotate'], { ER_DIR: root, REDIS_URL: '' })
    expect(first.code, first.err).toBe(0)
    const before = await runCliAsync(['keys', 'list'], { ER_DIR: root, REDIS_URL: '' })
    const failed = await runCliAsync(['keys', 'rotate'], {
      ER_DIR: root,
      REDIS_URL: 'redis://127.0.0.1:1',
    })
    expect(failed.code).toBe(1)
    expect(failed.err.trim()).toMatch(/^engineroom: cannot reach Redis \(ECONNREFUSED\)[^\n]*$/)
    const after = await runCliAsync(['keys', 'list'], { ER_DIR: root, REDIS_URL: '' })
    expect(after.out).toBe(before.out)
  }, 60_000)
})
