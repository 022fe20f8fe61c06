/**
 * `@engineroom/client` against a real server on a real socket, on both dialects: sign-in,
 * rules refusing with problem codes, list paging, realtime resuming after a dropped connection,
 * protected files, idempotent creates, and generated types catching a wrong field under tsc.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createClient,
  ProblemError,
  type Client,
  type RealtimeEvent,
  type Session,
} from '../../packages/client/src/index.js'
import { renderCollectionTypes } from '../../src/services/schema/render-types.js'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createFilesTestEngine } from '../helpers/files-engine.js'
import type { TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

/** Awaits `predicate` by polling; the test's own timeout bounds it. */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The ProblemError a call threw (fails the test if it did not throw one). */
async function problemOf(call: Promise<unknown>): Promise<ProblemError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ProblemError)
  return error as ProblemError
}

describe.each(dialects)('the client SDK on %s', (dialect) => {
  let t: TestEngine
  let url: string
  let ann: Client
  let bob: Client
  let annId: string
  /** Every realtime request ann's client made, with the Last-Event-ID it sent. */
  const realtimeRequests: (string | null)[] = []

  beforeAll(async () => {
    t = await createFilesTestEngine(dialect, 'local', undefined)
    await createCollection(t, {
      name: 'users',
      type: 'auth',
      fields: [{ name: 'name', type: 'text' }],
      rules: { create: '', view: 'id = @request.auth.id' },
    })
    await createCollection(t, {
      name: 'posts',
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'views', type: 'number' },
        { name: 'owner', type: 'relation', collection: 'users', maxSelect: 1 },
        { name: 'doc', type: 'file', protected: true },
      ],
      rules: {
        list: '',
        view: '',
        create: 'owner = @request.auth.id',
        update: 'owner = @request.auth.id',
        delete: 'owner = @request.auth.id',
      },
    })
    url = await t.app.listen({ host: '127.0.0.1', port: 0 })
    ann = createClient({
      url,
      fetch: (input, init) => {
        if (input.includes('/api/realtime?')) {
          realtimeRequests.push(new Headers(init?.headers).get('last-event-id'))
        }
        return fetch(input, init)
      },
    })
    bob = createClient({ url })
    const annRecord = await ann.collection('users').create({
      email: 'ann@example.com',
      password: 'a long password',
      name: 'Ann',
    })
    annId = annRecord.id
    await bob.collection('users').create({ email: 'bob@example.com', password: 'bob password 1' })
  })

  afterAll(async () => {
    await t?.close()
  })

  it('signs in, refreshes and signs out, telling onChange each time', async () => {
    const seen: (Session | null)[] = []
    const stop = ann.auth.onChange((session) => seen.push(session))
    const wrong = await problemOf(ann.auth.signInWithPassword('users', 'ann@example.com', 'nope'))
    expect(wrong.status).toBe(400)
    expect(wrong.code).toMatch(/^ER_/)
    expect(ann.auth.token).toBeNull()

    const session = await ann.auth.signInWithPassword('users', 'ann@example.com', 'a long password')
    expect('token' in session && session.record.id).toBe(annId)
    const first = ann.auth.session!
    const refreshed = await ann.auth.refresh()
    expect(refreshed.refreshToken).not.toBe(first.refreshToken)
    expect(ann.auth.token).toBe(refreshed.token)
    // The spent refresh token no longer works: the server rotated it.
    const spent = createClient({ url })
    spent.auth.restore(first)
    expect((await problemOf(spent.auth.refresh())).status).toBe(401)

    await ann.auth.signOut()
    expect(ann.auth.session).toBeNull()
    // Signing out ended the session on the server, not only here.
    const revoked = createClient({ url })
    revoked.auth.restore(refreshed)
    expect((await problemOf(revoked.auth.refresh())).status).toBe(401)
    // Signing out of a session the server already ended is not an error.
    await expect(revoked.auth.signOut()).resolves.toBeUndefined()
    expect(revoked.auth.session).toBeNull()
    stop()
    expect(seen.map((s) => s?.token ?? null)).toEqual([first.token, refreshed.token, null])

    await ann.auth.signInWithPassword('users', 'ann@example.com', 'a long password')
    await bob.auth.signInWithPassword('users', 'bob@example.com', 'bob password 1')
  })

  it('creates, reads, updates and deletes, and the rules refuse with problem codes', async () => {
    const posts = ann.collection('posts')
    const post = await posts.create({ title: 'Hello', views: 3, owner: annId })
    expect(post).toMatchObject({ title: 'Hello', views: 3, owner: annId })
    expect(await posts.view(post.id)).toMatchObject({ title: 'Hello' })
    expect(await posts.update(post.id, { views: 4 })).toMatchObject({ views: 4 })

    const invalid = await problemOf(posts.create({ views: 1, owner: annId }))
    expect(invalid.status).toBe(400)
    expect(invalid.code).toBe('ER_VALIDATION_FAILED')
    expect(invalid.errors).toHaveProperty('title')

    // Bob may not write as Ann, nor change her post (he may view it, so the refusal is a 403).
    const forged = await problemOf(bob.collection('posts').create({ title: 'x', owner: annId }))
    expect([forged.status, forged.code]).toEqual([403, 'ER_FORBIDDEN'])
    const theft = await problemOf(bob.collection('posts').update(post.id, { views: 0 }))
    expect([theft.status, theft.code]).toEqual([403, 'ER_FORBIDDEN'])
    expect((await problemOf(bob.collection('posts').delete(post.id))).status).toBe(403)
    expect(await posts.view(post.id)).toMatchObject({ views: 4 })

    await posts.delete(post.id)
    const gone = await problemOf(posts.view(post.id))
    expect([gone.status, gone.code]).toEqual([404, 'ER_RECORD_NOT_FOUND'])
  })

  it('lists with a filter, a sort and pages', async () => {
    const posts = ann.collection('posts')
    for (let i = 1; i <= 5; i++) await posts.create({ title: `list ${i}`, views: i, owner: annId })
    const first = await posts.list({
      filter: 'title ~ "list" && views >= 2',
      sort: '-views',
      perPage: 2,
      count: true,
    })
    expect(first.items.map((p) => p.views)).toEqual([5, 4])
    expect(first.totalItems).toBe(4)
    const second = await posts.list({
      filter: 'title ~ "list" && views >= 2',
      sort: '-views',
      perPage: 2,
      page: 2,
    })
    expect(second.items.map((p) => p.views)).toEqual([3, 2])
    const byCursor = await posts.list({
      filter: 'title ~ "list" && views >= 2',
      sort: '-views',
      perPage: 2,
      cursor: first.nextCursor!,
    })
    expect(byCursor.items.map((p) => p.views)).toEqual([3, 2])
    const bad = await problemOf(posts.list({ filter: 'views >' }))
    expect(bad.status).toBe(400)
    expect(bad.errors).toHaveProperty('filter')
  })

  it('receives a create over realtime and resumes after the connection drops', async () => {
    const events: RealtimeEvent[] = []
    const sub = ann.realtime.subscribe({
      topics: ['posts'],
      onEvent: (e) => events.push(e),
      retryMs: 50,
    })
    await sub.ready
    const posts = bob.collection('posts')
    const before = await bob
      .collection('posts')
      .create({ title: 'live one', owner: bob.auth.session!.record.id as string })
    await until(() => events.some((e) => e.record.id === before.id), 'the first event')
    expect(events.find((e) => e.record.id === before.id)).toMatchObject({
      action: 'create',
      collection: 'posts',
    })
    const seenId = sub.lastEventId
    expect(seenId).toBeDefined()

    // Drop every connection the server holds; the client reconnects with Last-Event-ID.
    const requestsBefore = realtimeRequests.length
    t.app.server.closeAllConnections()
    await until(() => realtimeRequests.length > requestsBefore, 'a reconnect')
    expect(realtimeRequests.at(-1)).toBe(seenId)
    const after = await posts.create({
      title: 'after the drop',
      owner: bob.auth.session!.record.id as string,
    })
    await until(() => events.some((e) => e.record.id === after.id), 'the event after the drop')
    // Once each, in order.
    const ids = events.map((e) => e.record.id)
    expect(ids.filter((id) => id === before.id)).toHaveLength(1)
    expect(ids.indexOf(after.id)).toBeGreaterThan(ids.indexOf(before.id))
    sub.close()

    // A new subscription that starts from an earlier id gets what came after it.
    const replay: RealtimeEvent[] = []
    const again = ann.realtime.subscribe({
      topics: ['posts'],
      lastEventId: seenId,
      onEvent: (e) => replay.push(e),
    })
    await until(() => replay.some((e) => e.record.id === after.id), 'the replayed event')
    expect(replay.some((e) => e.record.id === before.id)).toBe(false)
    again.close()

    // Without a token: posts anyone may list stream; users no stranger can see are refused,
    // as a ProblemError.
    const reader = createClient({ url }).realtime.subscribe({
      topics: ['posts'],
      onEvent: () => {},
    })
    await reader.ready
    reader.close()
    const stranger = createClient({ url }).realtime.subscribe({
      topics: ['users'],
      onEvent: () => {},
    })
    const refused = await problemOf(stranger.ready)
    expect(refused.status).toBe(401)
  })

  it('downloads a protected file only with a file token', async () => {
    const form = new FormData()
    form.set('title', 'with a file')
    form.set('owner', annId)
    form.set('doc', new Blob(['secret contents'], { type: 'text/plain' }), 'notes.txt')
    const post = await ann.collection('posts').create(form)
    const name = post.doc as string
    expect(name).toMatch(/^notes.*\.txt$/)

    const bare = await fetch(ann.files.url('posts', post.id, name))
    expect(bare.status).toBe(401)
    const token = await ann.files.getToken()
    const withToken = await fetch(ann.files.url('posts', post.id, name, { token }))
    expect(withToken.status).toBe(200)
    expect(await withToken.text()).toBe('secret contents')
  })

  it('sends an idempotency key so a repeated create writes one record', async () => {
    const posts = ann.collection('posts')
    const key = `sdk-${dialect}-${Date.now()}`
    const body = { title: 'exactly once', owner: annId }
    const first = await posts.create(body, { idempotencyKey: key })
    const repeat = await posts.create(body, { idempotencyKey: key })
    expect(repeat.id).toBe(first.id)
    const page = await posts.list({ filter: 'title = "exactly once"', count: true })
    expect(page.totalItems).toBe(1)
    // The same key with another body is refused rather than silently answered.
    const reused = await problemOf(
      posts.create({ ...body, title: 'other' }, { idempotencyKey: key }),
    )
    expect([reused.status, reused.code]).toEqual([422, 'ER_IDEMPOTENCY_KEY_REUSED'])
  })

  it('is typed by generated Collections: tsc --strict catches a wrong field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-sdk-types-'))
    try {
      const defs = ['posts', 'users'].map((name) => t.engine.registry.get(name))
      writeFileSync(join(dir, 'types.ts'), renderCollectionTypes(defs))
      const sdk = resolve('packages/client/src/index.js')
      const sample = (body: string) => `import { createClient } from ${JSON.stringify(sdk)}
import type { Collections } from './types.js'
const er = createClient<Collections>({ url: 'http://127.0.0.1:8090' })
export async function main(): Promise<number | null | undefined> {
  const post = await er.collection('posts').create({ title: 'x', owner: 'u1' })
  const title: string = post.title
  const page = await er.collection('posts').list({ expand: 'owner' })
  void title
${body}
  return page.items[0]?.views
}
`
      const compile = (file: string, body: string) => {
        writeFileSync(join(dir, file), sample(body))
        // A project of its own: a browser-like program (DOM lib, no Node types) under --strict.
        const project = join(dir, `${file}.tsconfig.json`)
        writeFileSync(
          project,
          JSON.stringify({
            compilerOptions: {
              strict: true,
              noEmit: true,
              skipLibCheck: true,
              target: 'es2022',
              lib: ['es2022', 'dom', 'dom.iterable'],
              types: [],
              module: 'nodenext',
              moduleResolution: 'nodenext',
            },
            files: [join(dir, file)],
          }),
        )
        return spawnSync(
          process.execPath,
          [resolve('node_modules/typescript/bin/tsc'), '-p', project],
          { encoding: 'utf8', timeout: 120_000 },
        )
      }
      const good = compile(
        'good.ts',
        `  // @ts-expect-error a field posts does not have
  await er.collection('posts').create({ titel: 'x', owner: 'u1' })
  // @ts-expect-error not a collection
  er.collection('pots')
  // @ts-expect-error not a relation of posts
  await er.collection('posts').list({ expand: 'autor' })`,
      )
      expect(good.status, good.stdout + good.stderr).toBe(0)
      const bad = compile('bad.ts', `  await er.collection('posts').update('id', { titel: 'x' })`)
      expect(bad.status).not.toBe(0)
      expect(bad.stdout).toContain('titel')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})

describe('the client SDK behind a proxy that answers HTML', () => {
  it('still throws a ProblemError with the status and the start of the text', async () => {
    const { createServer } = await import('node:http')
    const proxy = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><body>Bad Gateway</body></html>')
    })
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done))
    try {
      const address = proxy.address() as { port: number }
      const er = createClient({ url: `http://127.0.0.1:${address.port}/` })
      const problem = await problemOf(er.collection('posts').list())
      expect(problem.status).toBe(502)
      expect(problem.code).toBeUndefined()
      expect(problem.body.detail).toContain('Bad Gateway')
    } finally {
      proxy.close()
    }
  })
})
