/**
 * The schema history lives in the database (`_migrations` with each change's content): a change
 * made through one node is in every node's history, whichever node's disk holds its file; the
 * history exports as migration files for git, and replays onto another database of either
 * dialect without any file.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.js'
import { systemClock } from '../../src/core/clock.js'
import { buildServer } from '../../src/http/server.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { applyMigrationsFromStore } from '../../src/services/schema/apply-migration-files.js'
import {
  exportSchemaHistory,
  fillHistoryFromFiles,
  readSchemaHistory,
} from '../../src/services/schema/schema-history.js'
import { availableDialects } from '../helpers/dialects.js'
import {
  createTestEngine,
  openTestStore,
  testPasswords,
  type TestEngine,
} from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('schema history in the database on %s', (dialect) => {
  let a: TestEngine
  let b: { engine: Engine; app: FastifyInstance; dir: string }
  const tmp: string[] = []
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-history-'))
    tmp.push(dir)
    return dir
  }

  beforeAll(async () => {
    const bus = createInProcessBus()
    a = await createTestEngine(dialect, { bus })
    // Node B: its own store and its own (empty) migrations folder, as another machine has.
    const dir = tempDir()
    const engine = await createEngine({
      store: await a.openAnotherStore(),
      migrationsDir: join(dir, 'migrations'),
      passwords: testPasswords,
      schemaRecheckMs: 0,
      bus,
    })
    b = { engine, app: await buildServer(engine, {}), dir }
    const viaA = await a.call({
      method: 'POST',
      url: '/api/collections',
      payload: { name: 'teams', fields: [{ name: 'name', type: 'text', required: true }] },
    })
    expect(viaA.statusCode, viaA.body).toBe(201)
    const viaB = await b.app.inject({
      method: 'POST',
      url: '/api/collections',
      headers: { authorization: `Bearer ${a.token}` },
      payload: {
        name: 'posts',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'team', type: 'relation', collection: 'teams' },
        ],
      },
    })
    expect(viaB.statusCode, viaB.body).toBe(201)
    const renamed = await a.call({
      method: 'PATCH',
      url: '/api/collections/teams',
      payload: { name: 'squads' },
    })
    expect(renamed.statusCode, renamed.body).toBe(200)
  })
  afterAll(async () => {
    await b.app.close()
    await b.engine.close()
    await a.close()
    for (const dir of tmp) rmSync(dir, { recursive: true, force: true })
  })

  it('every node reads the same ordered history, with each change made on either node', async () => {
    const fromA = await readSchemaHistory(a.engine.store)
    const fromB = await readSchemaHistory(b.engine.store)
    expect(fromB).toEqual(fromA)
    expect(fromA.map((e) => e.name.replace(/^\d{14}-|\.json$/g, ''))).toEqual([
      'create-teams',
      'create-posts',
      'rename-teams-to-squads',
    ])
    expect(fromA.map((e) => e.name)).toEqual(fromA.map((e) => e.name).sort())
    // The change made through B is in the history with its operations, though only B's disk
    // has its file and A's disk has the other two.
    const posts = fromA[1]!
    expect(posts.migration?.up).toEqual([
      expect.objectContaining({
        op: 'createCollection',
        collection: expect.objectContaining({ name: 'posts' }),
      }),
    ])
    expect(readdirSync(join(b.dir, 'migrations'))).toEqual([posts.name])
    expect(readdirSync(join(a.dir, 'migrations'))).toEqual([fromA[0]!.name, fromA[2]!.name])
  })

  it('the content kept is the migration file the deciding node wrote', async () => {
    for (const entry of await readSchemaHistory(b.engine.store)) {
      const folder = entry.name.includes('create-posts') ? b.dir : a.dir
      const file = JSON.parse(readFileSync(join(folder, 'migrations', entry.name), 'utf8'))
      expect(entry.migration).toEqual(file)
    }
  })

  it('exports the whole history as files from any node, and never overwrites a differing one', async () => {
    const out = tempDir()
    const first = await exportSchemaHistory(b.engine.store, out)
    expect(first.written).toHaveLength(3)
    expect(readdirSync(out)).toEqual((await readSchemaHistory(a.engine.store)).map((e) => e.name))
    for (const name of readdirSync(join(a.dir, 'migrations'))) {
      expect(readFileSync(join(out, name), 'utf8')).toBe(
        readFileSync(join(a.dir, 'migrations', name), 'utf8'),
      )
    }
    const edited = first.written[0]!
    writeFileSync(join(out, edited), '{"up":[],"down":[]}\n')
    const again = await exportSchemaHistory(a.engine.store, out)
    expect(again).toEqual({
      written: [],
      unchanged: first.written.slice(1),
      differing: [edited],
      withoutContent: [],
    })
    expect(readFileSync(join(out, edited), 'utf8')).toBe('{"up":[],"down":[]}\n')
  })

  it.each(dialects)('replays onto an empty %s database from the history alone', async (target) => {
    const dir = tempDir()
    const { store, drop } = await openTestStore(target, dir)
    try {
      const applied = await applyMigrationsFromStore(store, a.engine.store, systemClock)
      expect(applied).toHaveLength(3)
      expect(await store.listCollections()).toEqual(await a.engine.store.listCollections())
      // The target's own history now reads the same: names and contents.
      const mine = (await readSchemaHistory(store)).map(({ name, migration }) => ({
        name,
        migration,
      }))
      const theirs = (await readSchemaHistory(a.engine.store)).map(({ name, migration }) => ({
        name,
        migration,
      }))
      expect(mine).toEqual(theirs)
      expect(await applyMigrationsFromStore(store, a.engine.store, systemClock)).toEqual([])
    } finally {
      await store.close()
      await drop()
    }
  })

  it('a change recorded before contents were kept gets its content from the node that has its file', async () => {
    const [first] = await readSchemaHistory(a.engine.store)
    await clearContent(a, first!.name)
    expect((await readSchemaHistory(a.engine.store))[0]!.migration).toBeNull()
    // B has no file of that name: nothing to fill from.
    expect(await fillHistoryFromFiles(b.engine.store, join(b.dir, 'migrations'))).toEqual([])
    // A wrote it: on its next start the gap closes.
    expect(await fillHistoryFromFiles(a.engine.store, join(a.dir, 'migrations'))).toEqual([
      first!.name,
    ])
    expect((await readSchemaHistory(b.engine.store))[0]).toEqual(first)
  })

  it('refuses to replay a history with a gap, before applying anything', async () => {
    const [first] = await readSchemaHistory(a.engine.store)
    await clearContent(a, first!.name)
    const dir = tempDir()
    const { store, drop } = await openTestStore('sqlite', dir)
    try {
      await expect(applyMigrationsFromStore(store, a.engine.store, systemClock)).rejects.toThrow(
        new RegExp(`${first!.name} of the source database has no recorded content`),
      )
      expect(await store.appliedMigrations()).toEqual([])
    } finally {
      await fillHistoryFromFiles(a.engine.store, join(a.dir, 'migrations'))
      await store.close()
      await drop()
    }
  })
})

/** What a database upgraded from before this feature holds: the row without its content. */
async function clearContent(t: TestEngine, name: string): Promise<void> {
  if ('file' in t.database) {
    const db = new Database(t.database.file)
    db.prepare('update _migrations set content = null where name = ?').run(name)
    db.close()
    return
  }
  const client = new pg.Client({ connectionString: t.database.url })
  await client.connect()
  await client.query('update _migrations set content = null where name = $1', [name])
  await client.end()
}
