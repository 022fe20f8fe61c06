/**
 * The `engineroom` command as a user runs it: a real process on a temporary data directory.
 * The CLI is bundled from source once (esbuild, dependencies left external) so the suite needs
 * no build first and each process starts in a fraction of a second.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable } from '../helpers/dialects.js'

const dirs: string[] = []
let CLI = ''

beforeAll(async () => {
  // Inside the checkout (git-ignored .tmp/), so the bundle's imports resolve from node_modules.
  mkdirSync(resolve('.tmp'), { recursive: true })
  const out = mkdtempSync(resolve('.tmp', 'cli-'))
  dirs.push(out)
  CLI = join(out, 'engineroom.mjs')
  await build({
    entryPoints: [resolve('src/cli/main.ts')],
    outfile: CLI,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'er-cli-'))
  dirs.push(dir)
  return dir
}

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ...env },
    timeout: 120_000,
  })
  return { code: result.status, out: result.stdout, err: result.stderr }
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

// Each case spawns several Node processes: seconds each on a loaded two-core machine.
describe('engineroom CLI', { timeout: 180_000 }, () => {
  it('creates, lists and deletes superusers, refusing a duplicate', () => {
    const dir = tempDir()
    const created = run([
      'superuser',
      'create',
      'Admin@Example.com',
      'a long passphrase',
      '--dir',
      dir,
    ])
    expect(created.code, created.err).toBe(0)
    expect(created.out).toContain('Created superuser admin@example.com')
    const again = run([
      'superuser',
      'create',
      'admin@example.com',
      'another passphrase',
      '--dir',
      dir,
    ])
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/already has this "email"/)
    const short = run(['superuser', 'create', 'b@example.com', 'short', '--dir', dir])
    expect(short.code).toBe(1)
    expect(short.err).toMatch(/password: must be at least 8 characters/)
    const listed = run(['superuser', 'list', '--dir', dir])
    expect(listed.out).toContain('admin@example.com')
    expect(listed.out).not.toContain('$argon2')
    const last = run(['superuser', 'delete', 'admin@example.com', '--dir', dir])
    expect(last.code).toBe(1)
    expect(last.err).toMatch(/last superuser: add another first \(engineroom superuser create/)
    expect(last.err).not.toMatch(/\n\s+at /) // no stack trace
    expect(run(['superuser', 'list', '--dir', dir]).out).toContain('admin@example.com')
    expect(
      run(['superuser', 'create', 'second@example.com', 'a long passphrase', '--dir', dir]).code,
    ).toBe(0)
    expect(run(['superuser', 'delete', 'admin@example.com', '--dir', dir]).code).toBe(0)
    expect(run(['superuser', 'list', '--dir', dir]).out).not.toContain('admin@example.com')
  })

  it('stops on a bad setting with one line naming it', () => {
    const result = run(['serve', '--dir', tempDir()], { ER_HTTP: 'localhost' })
    expect(result.code).toBe(2)
    expect(result.err.trim()).toBe(
      'engineroom: invalid setting: ER_HTTP: expected host:port such as 127.0.0.1:8090, got "localhost"',
    )
  })

  it('imports a schema, exports the same, and migrates another directory to it', () => {
    const dir = tempDir()
    const file = join(dir, 'schema.json')
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'authors', fields: [{ name: 'name', type: 'text', required: true }] },
        {
          name: 'posts',
          fields: [
            { name: 'title', type: 'text' },
            { name: 'author', type: 'relation', collection: 'authors' },
          ],
        },
      ]),
    )
    // Commands other than serve and migrate want an existing data directory.
    mkdirSync(join(dir, 'a'))
    const imported = run(['schema', 'import', file, '--dir', join(dir, 'a')])
    expect(imported.code, imported.err).toBe(0)
    expect(imported.out).toContain('2 created, 0 updated')
    const exported = run(['schema', 'export', '-', '--dir', join(dir, 'a')])
    // A fresh data directory starts with the default `users` collection (made at different
    // times in each directory, so compared by name only).
    const withoutUsers = (text: string) =>
      (JSON.parse(text) as { name: string }[]).filter((c) => c.name !== 'users')
    expect((JSON.parse(exported.out) as { name: string }[]).map((c) => c.name)).toEqual([
      'users',
      'authors',
      'posts',
    ])
    const collections = withoutUsers(exported.out)

    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify([{ name: 'x', fields: [{ name: 'n', type: 'nope' }] }]))
    const rejected = run(['schema', 'import', bad, '--dir', join(dir, 'a')])
    expect(rejected.code).toBe(1)
    expect(rejected.err).toContain('fields.0.type')

    const migrated = run([
      'migrate',
      '--from',
      join(dir, 'a', 'migrations'),
      '--dir',
      join(dir, 'b'),
    ])
    expect(migrated.code, migrated.err).toBe(0)
    expect(migrated.out).toMatch(/\[1\/1\] applied/)
    expect(withoutUsers(run(['schema', 'export', '-', '--dir', join(dir, 'b')]).out)).toEqual(
      collections,
    )
    expect(readdirSync(join(dir, 'a', 'migrations'))).toHaveLength(1)
    expect(
      readFileSync(
        join(dir, 'a', 'migrations', readdirSync(join(dir, 'a', 'migrations'))[0] as string),
        'utf8',
      ),
    ).toContain('"down"')
  })

  // About a dozen processes (two dialects): more time than the suite's default on a busy machine.
  it(
    'shows the schema history from the database, exports it and replays it elsewhere',
    {
      timeout: 360_000,
    },
    async () => {
      const dir = tempDir()
      mkdirSync(join(dir, 'a'))
      const file = join(dir, 'schema.json')
      writeFileSync(
        file,
        JSON.stringify([{ name: 'authors', fields: [{ name: 'name', type: 'text' }] }]),
      )
      expect(run(['schema', 'import', file, '--dir', join(dir, 'a')]).code).toBe(0)
      writeFileSync(
        file,
        JSON.stringify([{ name: 'posts', fields: [{ name: 'title', type: 'text' }] }]),
      )
      expect(run(['schema', 'import', file, '--dir', join(dir, 'a')]).code).toBe(0)
      // The files are gone from this node's disk: the history is still whole, from the database.
      rmSync(join(dir, 'a', 'migrations'), { recursive: true })
      const history = run(['schema', 'history', '--dir', join(dir, 'a')])
      expect(history.code, history.err).toBe(0)
      const lines = history.out.trim().split('\n')
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(/^\d{14}-import-schema\.json {2}\S+ {2}create authors$/)
      expect(lines[1]).toMatch(/^\d{14}-import-schema\.json {2}\S+ {2}create posts$/)
      const asJson = JSON.parse(run(['schema', 'history', '--json', '--dir', join(dir, 'a')]).out)
      expect(asJson.map((e: { migration: { up: unknown[] } }) => e.migration.up.length)).toEqual([
        1, 1,
      ])

      const exported = run([
        'schema',
        'history',
        '--export',
        join(dir, 'git'),
        '--dir',
        join(dir, 'a'),
      ])
      expect(exported.code, exported.err).toBe(0)
      expect(exported.out).toContain('2 written, 0 already there')
      expect(readdirSync(join(dir, 'git'))).toEqual(asJson.map((e: { name: string }) => e.name))
      writeFileSync(join(dir, 'git', asJson[0].name), '{"up":[]}')
      const differs = run([
        'schema',
        'history',
        '--export',
        join(dir, 'git'),
        '--dir',
        join(dir, 'a'),
      ])
      expect(differs.code).toBe(1)
      expect(differs.err.trim().split('\n')).toHaveLength(1)
      expect(differs.err).toContain(
        `differ from the database's history and were left alone: ${asJson[0].name}`,
      )

      // Another SQLite database, and PostgreSQL when it is here, replay the history itself.
      const toSqlite = run(['migrate', '--from-database', join(dir, 'a'), '--dir', join(dir, 'b')])
      expect(toSqlite.code, toSqlite.err).toBe(0)
      expect(toSqlite.out).toContain('Applied 2 migration(s).')
      expect(JSON.parse(run(['schema', 'history', '--json', '--dir', join(dir, 'b')]).out)).toEqual(
        asJson.map((e: object) => ({ ...e, applied: expect.any(String) })),
      )
      if (await isPostgresAvailable()) {
        const schema = await createPostgresSchema()
        try {
          const env = { DATABASE_URL: schema.url }
          const toPostgres = run(
            ['migrate', '--from-database', join(dir, 'a'), '--dir', join(dir, 'c')],
            env,
          )
          expect(toPostgres.code, toPostgres.err).toBe(0)
          const names = JSON.parse(
            run(['schema', 'history', '--json', '--dir', join(dir, 'c')], env).out,
          )
          expect(names.map((e: { name: string }) => e.name)).toEqual(
            asJson.map((e: { name: string }) => e.name),
          )
          // And back: PostgreSQL as the source of a SQLite database.
          const back = run(['migrate', '--from-database', schema.url, '--dir', join(dir, 'd')])
          expect(back.code, back.err).toBe(0)
          expect(back.out).toContain('Applied 2 migration(s).')
        } finally {
          await schema.drop()
        }
      }

      const missing = run([
        'migrate',
        '--from-database',
        join(dir, 'nowhere'),
        '--dir',
        join(dir, 'b'),
      ])
      expect(missing.code).toBe(1)
      expect(missing.err).toMatch(
        /^engineroom: --from-database .*no SQLite database there\. Give a postgres/,
      )
      expect(missing.err.trim().split('\n')).toHaveLength(1)
      const both = run([
        'migrate',
        '--from',
        dir,
        '--from-database',
        join(dir, 'a'),
        '--dir',
        join(dir, 'b'),
      ])
      expect(both.code).toBe(1)
      expect(both.err).toContain('not both')
    },
  )

  it('imports JSON Lines and CSV with progress, and names the bad line', () => {
    const dir = tempDir()
    const schemaFile = join(dir, 'schema.json')
    writeFileSync(
      schemaFile,
      JSON.stringify([
        {
          name: 'jobs',
          fields: [
            { name: 'title', type: 'text', required: true },
            { name: 'salary', type: 'number', min: 0 },
            { name: 'remote', type: 'bool' },
            { name: 'skills', type: 'select', values: ['sql', 'go', 'ts'], maxSelect: 3 },
          ],
        },
      ]),
    )
    expect(run(['schema', 'import', schemaFile, '--dir', dir]).code).toBe(0)
    const jsonl = join(dir, 'jobs.jsonl')
    writeFileSync(
      jsonl,
      Array.from({ length: 1500 }, (_, i) => JSON.stringify({ title: `Job ${i}`, salary: i })).join(
        '\n',
      ) + '\n',
    )
    const loaded = run(['import', 'jobs', jsonl, '--batch', '500', '--dir', dir])
    expect(loaded.code, loaded.err).toBe(0)
    expect(loaded.out).toMatch(/Imported 1,500 records into "jobs"/)
    expect(loaded.err).toMatch(/imported [\d,]+ records \(through line [\d,]+\) · \d+% · [\d,]+\/s/)

    const csv = join(dir, 'jobs.csv')
    writeFileSync(
      csv,
      'title,salary,remote,skills\n"Backend, senior",90000,true,"sql,ts"\nJunior,-1,no,go\n',
    )
    const partial = run(['import', 'jobs', csv, '--batch', '1', '--dir', dir])
    expect(partial.code).toBe(1)
    expect(partial.err).toMatch(/line 3: .*salary/)
    // One record (line 2) was committed in its own batch: the resume point is the failing line.
    expect(partial.err).toMatch(/1 records before it were imported/)
    expect(partial.err).toMatch(/resume with --from-line 3\./)
    const resumed = run(['import', 'jobs', csv, '--from-line', '3', '--batch', '1', '--dir', dir])
    expect(resumed.err).toMatch(/line 3: .*salary/)
    expect(resumed.err).not.toMatch(/resume with/)
    const exported = run(['schema', 'export', '-', '--dir', dir])
    expect(exported.code).toBe(0)
    const bad = run(['import', 'jobs', csv, '--format', 'xml', '--dir', dir])
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/--format: expected jsonl or csv/)
  })

  it('serves, answers health checks, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir()
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', '--dir', dir], {
      env: { ...process.env, DATABASE_URL: '', ER_LOG_LEVEL: 'warn' },
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 90_000)
      child.stdout.on('data', () => {
        const match = /serving at (http:\/\/[\d.:]+)/.exec(output)
        if (match) {
          clearTimeout(timer)
          resolveUrl(match[1] as string)
        }
      })
    })
    try {
      expect(output).toContain('No superuser yet')
      const health = await fetch(`${url}/healthz`)
      expect(health.status).toBe(200)
      const ready = await fetch(`${url}/readyz`)
      expect(((await ready.json()) as { status: string }).status).toBe('ready')
    } finally {
      child.kill('SIGTERM')
    }
    const code = await new Promise<number | null>((done) => child.on('exit', done))
    expect(code).toBe(0)
  })
})
