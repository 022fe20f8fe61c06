/**
 * Every schema change is written as a migration file; `engineroom migrate` replays the files on
 * an empty database of either dialect and must yield the same schema: the same collection
 * definitions and the same tables, columns and indexes.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/core/clock.js'
import { applyMigrationFiles } from '../../src/services/schema/apply-migration-files.js'
import { verifyAudit } from '../../src/services/audit/audit-log.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, openTestStore, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

async function changeSchema(t: TestEngine): Promise<void> {
  const steps: [string, string, Record<string, unknown> | undefined][] = [
    [
      'POST',
      '/api/collections',
      { name: 'teams', fields: [{ name: 'name', type: 'text', required: true, unique: true }] },
    ],
    [
      'POST',
      '/api/collections',
      {
        name: 'posts',
        fields: [
          { name: 'title', type: 'text', max: 200 },
          { name: 'views', type: 'number', min: 0 },
          { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 3 },
          { name: 'team', type: 'relation', collection: 'teams', onDelete: 'cascade' },
          { name: 'draft', type: 'bool' },
        ],
        indexes: [{ fields: ['views', 'created'] }],
        rules: { list: 'views > 0', view: '', create: null, update: null, delete: null },
      },
    ],
    ['PATCH', '/api/collections/teams', { name: 'squads' }],
    ['POST', '/api/collections', { name: 'scratch', fields: [{ name: 'x', type: 'json' }] }],
    ['DELETE', '/api/collections/scratch', undefined],
  ]
  for (const [method, url, payload] of steps) {
    const response = await t.call({
      method: method as 'POST',
      url,
      ...(payload === undefined ? {} : { payload }),
    })
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300)
  }
  // Rename one field and drop another, by field id.
  const posts = (await t.call({ method: 'GET', url: '/api/collections/posts' })).json()
  const fields = posts.fields
    .filter((f: { name: string }) => f.name !== 'draft')
    .map((f: { name: string }) => (f.name === 'title' ? { ...f, name: 'headline' } : f))
  const patched = await t.call({
    method: 'PATCH',
    url: '/api/collections/posts',
    payload: { fields, indexes: [{ fields: ['views'], unique: false }] },
  })
  expect(patched.statusCode, patched.body).toBe(200)
}

describe.each(dialects)('migrations written on %s', (source) => {
  let origin: TestEngine
  beforeAll(async () => {
    origin = await createTestEngine(source)
    await changeSchema(origin)
  })
  afterAll(() => origin.close())

  it('writes one ordered file per change', () => {
    const files = readdirSync(join(origin.dir, 'migrations'))
    expect(files).toHaveLength(6)
    expect(files.every((f) => /^\d{14}-[a-z0-9-]+\.json$/.test(f))).toBe(true)
    expect(files).toEqual([...files].sort())
    expect(files.some((f) => f.includes('rename-teams-to-squads'))).toBe(true)
  })

  it.each(dialects)('replay on an empty %s database gives the same schema', async (target) => {
    const dir = mkdtempSync(join(tmpdir(), 'er-replay-'))
    const { store, drop } = await openTestStore(target, dir)
    try {
      const applied = await applyMigrationFiles(
        store,
        join(origin.dir, 'migrations'),
        systemClock,
        () => {},
        'cli',
      )
      expect(applied).toHaveLength(6)
      // Each file applied is in the audit log, by the CLI, in order; the chain holds.
      const audit = await store.audit.page(0, 100)
      expect(audit.map((r) => `${r.actor} ${r.action} ${r.target}`)).toEqual(
        applied.map((name) => `cli schema.migrate ${name}`),
      )
      expect((await verifyAudit(store)).broken).toBeUndefined()
      expect(await store.listCollections()).toEqual(await origin.engine.store.listCollections())
      const shape = (await store.introspect()).filter((t) => !t.name.startsWith('_'))
      const expected = (await origin.engine.store.introspect()).filter(
        (t) => !t.name.startsWith('_'),
      )
      expect(shape).toEqual(expected)
      expect(shape.map((t) => t.name)).toEqual(['posts', 'squads'])
      expect(shape.find((t) => t.name === 'posts')?.columns).toEqual([
        'id',
        'created',
        'updated',
        'headline',
        'views',
        'tags',
        'team',
      ])
      // A second run finds nothing to do.
      expect(await applyMigrationFiles(store, join(origin.dir, 'migrations'), systemClock)).toEqual(
        [],
      )
    } finally {
      await store.close()
      await drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
