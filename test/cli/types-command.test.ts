/**
 * `engineroom types --out F` over a data directory (SQLite) or DATABASE_URL (PostgreSQL): the
 * output and a sample app compile under `tsc --strict`; a wrong field or expand path does not.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'
import { runCli } from '../helpers/server-process.js'

const dialects = await availableDialects()

const SCHEMA = [
  { name: 'users', type: 'auth', fields: [{ name: 'name', type: 'text' }] },
  {
    name: 'posts',
    type: 'base',
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'status', type: 'select', values: ['draft', 'published'] },
      { name: 'tags', type: 'select', values: ['a', 'b'], maxSelect: 2 },
      { name: 'views', type: 'number' },
      { name: 'author', type: 'relation', collection: 'users', maxSelect: 1 },
      { name: 'meta', type: 'json' },
    ],
  },
]

const SAMPLE = `import type { Collections, PostsCreate, PostsRecord, UsersRecord } from './types.js'

const author: UsersRecord = { id: 'u1', created: '', updated: '', email: 'a@b.c', verified: true, name: null }
export const post: PostsRecord = {
  id: 'p1', created: '', updated: '', title: 'Hello', status: 'draft', tags: ['a'], views: null,
  author: 'u1', meta: { any: 'thing' }, expand: { author },
}
export const draft: PostsCreate = { title: 'Hello', status: null }
export const path: Collections['posts']['expand'] = 'author'
export const title: string = post.title
// @ts-expect-error a field posts does not have
export const wrong: PostsCreate = { titel: 'Hello' }
// @ts-expect-error not a relation of posts
export const badPath: Collections['posts']['expand'] = 'autor'
// @ts-expect-error not one of the select's values
export const badStatus: PostsCreate = { title: 'x', status: 'archived' }
`

describe.each(dialects)('engineroom types on %s', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), 'er-types-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes types that a strict sample app compiles against', async () => {
    const env: Record<string, string> = { ER_DIR: join(dir, 'data') }
    // CLI commands other than serve refuse a data directory that does not exist (a typo).
    mkdirSync(join(dir, 'data'), { recursive: true })
    let drop = async () => {}
    if (dialect === 'postgres') {
      const schema = await createPostgresSchema()
      env.DATABASE_URL = schema.url
      drop = schema.drop
    }
    try {
      writeFileSync(join(dir, 'schema.json'), JSON.stringify(SCHEMA))
      const imported = runCli(['schema', 'import', join(dir, 'schema.json')], env)
      expect(imported.code, imported.err).toBe(0)
      const written = runCli(['types', '--out', join(dir, 'types.ts')], env)
      expect(written.code, written.err).toBe(0)
      expect(written.out).toMatch(/Wrote types for \d+ collection/)
    } finally {
      await drop()
    }
    writeFileSync(join(dir, 'sample.ts'), SAMPLE)
    const tsc = spawnSync(
      process.execPath,
      [
        resolve('node_modules/typescript/bin/tsc'),
        '--strict',
        '--noEmit',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        join(dir, 'sample.ts'),
      ],
      { encoding: 'utf8', timeout: 120_000 },
    )
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0)
  }, 180_000)

  it('says what to do when --url has no token, without a stack trace', () => {
    const run = runCli(['types', '--url', 'http://127.0.0.1:9'], { ER_TOKEN: '' })
    expect(run.code).not.toBe(0)
    expect(run.err).toContain('--url needs a superuser token')
    expect(run.err).not.toMatch(/\n\s+at /)
  })
})
