import { sql, type Kysely } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkFilter, type CheckContext } from '../../core/filter/check.js'
import { parseFilter } from '../../core/filter/parser.js'
import { findTestCollection, posts, users } from '../../core/filter/test-schema.js'
import {
  availableDialects,
  createRawDatabase,
  type DialectName,
} from '../../../test/helpers/dialects.js'
import { compileFilter, type FilterValues } from './compile-filter.js'

const dialects = await availableDialects()

const baseValues: FilterValues = {
  now: '2026-06-01T00:00:00.000Z',
  auth: null,
  body: {},
  query: {},
}
// As `ruleValues` builds them: the record's fields, and the collection the caller signed in to.
const ann = {
  id: 'u1',
  name: 'Ann',
  team: 't1',
  roles: ['admin', 'editor'],
  collectionName: 'users',
}

async function createTables(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === 'sqlite' ? 'real' : 'double precision'
  const bool = dialect === 'sqlite' ? 'integer' : 'boolean'
  const common = 'id text primary key, created text, updated text'
  const statements = [
    `create table orgs (${common}, name text, country text)`,
    `create table teams (${common}, name text, org text)`,
    `create table users (${common}, email text, password text, verified ${bool}, "tokenKey" text, name text, team text, roles text, secret text)`,
    `create table posts (${common}, title text, views ${real}, published ${bool}, tags text, author text, editors text, "publishedAt" text, data text, "draftNote" text)`,
  ]
  for (const statement of statements) await sql.raw(statement).execute(db)
  const b = (value: boolean | null) =>
    value === null || dialect === 'postgres' ? value : Number(value)
  const rows: Record<string, Array<Record<string, unknown>>> = {
    orgs: [
      { id: 'o1', name: 'Acme', country: 'NZ' },
      { id: 'o2', name: 'Globex', country: 'US' },
    ],
    teams: [
      { id: 't1', name: 'Core', org: 'o1' },
      { id: 't2', name: 'Growth', org: 'o2' },
    ],
    users: [
      { id: 'u1', name: 'Ann', team: 't1', roles: '["admin","editor"]', verified: b(true) },
      { id: 'u2', name: 'Bob', team: 't2', roles: '["editor"]', verified: b(false) },
      { id: 'u3', name: 'Cy', team: null, roles: null, verified: b(false) },
    ],
    posts: [
      {
        id: 'p1',
        title: 'Hello World',
        views: 10,
        published: b(true),
        tags: '["news","tech"]',
        author: 'u1',
        editors: '["u1","u2"]',
        publishedAt: '2026-01-02T10:00:00.000Z',
        data: '{"a":1}',
      },
      {
        id: 'p2',
        title: 'second_post 100%',
        views: 5,
        published: b(false),
        tags: '["news"]',
        author: 'u2',
        editors: '["u2"]',
        publishedAt: '2025-06-01T00:00:00.000Z',
        data: null,
      },
      {
        id: 'p3',
        title: '',
        views: null,
        published: null,
        tags: '[]',
        author: null,
        editors: null,
        publishedAt: null,
        data: null,
      },
      {
        id: 'p4',
        title: 'Tech Talk',
        views: 100,
        published: b(true),
        tags: '["tech"]',
        author: 'u3',
        editors: '["u3"]',
        publishedAt: '2030-01-01T00:00:00.000Z',
        data: null,
      },
      {
        id: 'p5',
        title: null,
        views: 0,
        published: b(false),
        tags: null,
        author: 'u1',
        editors: '[]',
        publishedAt: '',
        data: null,
      },
    ],
  }
  for (const [table, list] of Object.entries(rows)) {
    for (const row of list)
      await db
        .insertInto(table as never)
        .values(row as never)
        .execute()
  }
}

interface Case {
  filter: string
  expected: string[]
  values?: Partial<FilterValues>
  mode?: 'rule'
  checkAuth?: boolean
}

const all = ['p1', 'p2', 'p3', 'p4', 'p5']

const cases: Case[] = [
  // text, = and != (empty text is != anything non-empty)
  { filter: 'title = "Hello World"', expected: ['p1'] },
  { filter: 'title != "Hello World"', expected: ['p2', 'p3', 'p4', 'p5'] },
  { filter: 'title = null', expected: ['p3', 'p5'] },
  { filter: 'title = ""', expected: ['p3', 'p5'] },
  { filter: 'title != null', expected: ['p1', 'p2', 'p4'] },
  { filter: 'title > "S"', expected: ['p2', 'p4'] },
  // text orders by code point on both dialects; empty text is the smallest
  { filter: 'title < "a"', expected: ['p1', 'p3', 'p4', 'p5'] },
  { filter: 'title:lower = "tech talk"', expected: ['p4'] },
  // ~ / !~: case-insensitive, % wildcard, _ literal
  { filter: 'title ~ "WORLD"', expected: ['p1'] },
  { filter: 'title ~ "t%k"', expected: ['p4'] },
  { filter: 'title ~ "_"', expected: ['p2'] },
  { filter: 'title ~ "100%"', expected: ['p2'] },
  { filter: 'title !~ "world"', expected: ['p2', 'p3', 'p4', 'p5'] },
  { filter: 'title ?~ "talk"', expected: ['p4'] },
  { filter: 'title ?!~ "talk"', expected: ['p1', 'p2', 'p3', 'p5'] },
  // numbers
  { filter: 'views = 10', expected: ['p1'] },
  { filter: 'views != 10', expected: ['p2', 'p3', 'p4', 'p5'] },
  { filter: 'views > 5', expected: ['p1', 'p4'] },
  { filter: 'views >= 5', expected: ['p1', 'p2', 'p4'] },
  { filter: 'views < 10', expected: ['p2', 'p5'] },
  { filter: 'views <= 10', expected: ['p1', 'p2', 'p5'] },
  { filter: 'views ?> 50', expected: ['p4'] },
  { filter: 'views ?>= 100', expected: ['p4'] },
  { filter: 'views ?< 1', expected: ['p5'] },
  { filter: 'views ?<= 0', expected: ['p5'] },
  { filter: 'views ?= 5', expected: ['p2'] },
  { filter: 'views ?!= 5', expected: ['p1', 'p3', 'p4', 'p5'] },
  { filter: 'views = null', expected: ['p3'] },
  { filter: 'views != null', expected: ['p1', 'p2', 'p4', 'p5'] },
  { filter: 'views > 1e1 || views = -0.5', expected: ['p4'] },
  // bools
  { filter: 'published = true', expected: ['p1', 'p4'] },
  { filter: 'published = false', expected: ['p2', 'p5'] },
  { filter: 'published != true', expected: ['p2', 'p3', 'p5'] },
  { filter: 'published = null', expected: ['p3'] },
  // dates: literals normalised, compared as instants
  { filter: 'publishedAt > "2026-01-01"', expected: ['p1', 'p4'] },
  { filter: 'publishedAt = "2026-01-02 10:00:00"', expected: ['p1'] },
  { filter: 'publishedAt = "2026-01-02T12:00:00+02:00"', expected: ['p1'] },
  { filter: 'publishedAt < @now', expected: ['p1', 'p2'] },
  { filter: 'publishedAt >= @now', expected: ['p4'] },
  { filter: 'publishedAt = null', expected: ['p3', 'p5'] },
  { filter: 'created = null', expected: all },
  // json
  { filter: 'data = null', expected: ['p2', 'p3', 'p4', 'p5'] },
  { filter: 'data != null', expected: ['p1'] },
  // multi select: ~ contains element, plain = every (and non-empty), ? = at least one
  { filter: 'tags ~ "news"', expected: ['p1', 'p2'] },
  { filter: 'tags !~ "news"', expected: ['p3', 'p4', 'p5'] },
  { filter: 'tags = "news"', expected: ['p2'] },
  { filter: 'tags != "news"', expected: ['p4'] },
  { filter: 'tags ?= "tech"', expected: ['p1', 'p4'] },
  { filter: 'tags ?!= "news"', expected: ['p1', 'p4'] },
  { filter: 'tags ?~ "EC"', expected: ['p1', 'p4'] },
  { filter: 'tags ?!~ "news"', expected: ['p1', 'p4'] },
  { filter: 'tags > "a"', expected: ['p1', 'p2', 'p4'] },
  { filter: 'tags ?> "o"', expected: ['p1', 'p4'] },
  { filter: 'tags = null', expected: ['p3', 'p5'] },
  { filter: 'tags != null', expected: ['p1', 'p2', 'p4'] },
  { filter: 'tags:length = 2', expected: ['p1'] },
  { filter: 'tags:length = 0', expected: ['p3', 'p5'] },
  { filter: 'tags:length > 0', expected: ['p1', 'p2', 'p4'] },
  // relations: 1, 2 and 3 hops; absent relations are empty
  { filter: 'author = "u1"', expected: ['p1', 'p5'] },
  { filter: 'author = null', expected: ['p3'] },
  { filter: 'author.name = "Ann"', expected: ['p1', 'p5'] },
  { filter: 'author.name:lower = "ann"', expected: ['p1', 'p5'] },
  { filter: 'author.name != "Ann"', expected: ['p2', 'p3', 'p4'] },
  { filter: 'author.team.name = "Core"', expected: ['p1', 'p5'] },
  { filter: 'author.team = null', expected: ['p3', 'p4'] },
  { filter: 'author.team.org.country = "US"', expected: ['p2'] },
  { filter: 'author.team.org.name ~ "ac"', expected: ['p1', 'p5'] },
  { filter: 'author.roles ?= "admin"', expected: ['p1', 'p5'] },
  { filter: 'author.roles = "editor"', expected: ['p2'] },
  { filter: 'author.roles:length = 2', expected: ['p1', 'p5'] },
  { filter: 'author.roles:length = 0', expected: ['p3', 'p4'] },
  // multi relation hops
  { filter: 'editors ~ "u2"', expected: ['p1', 'p2'] },
  { filter: 'editors.name ?= "Bob"', expected: ['p1', 'p2'] },
  { filter: 'editors.name = "Bob"', expected: ['p2'] },
  { filter: 'editors.team.name ?= "Growth"', expected: ['p1', 'p2'] },
  { filter: 'editors.team.name = null', expected: ['p3', 'p4', 'p5'] },
  { filter: 'editors:length = 2', expected: ['p1'] },
  { filter: 'editors.name:lower ?= "cy"', expected: ['p4'] },
  // @collection: the values over all rows of another collection
  { filter: '@collection.orgs.country ?= "NZ"', expected: all },
  { filter: '@collection.orgs.country = "NZ"', expected: [] },
  { filter: 'author.team.name ?= @collection.teams.name', expected: ['p1', 'p2', 'p5'] },
  {
    filter: 'author ?= @collection.users.id && @collection.users.team.name ?= "Core"',
    expected: ['p1', 'p2', 'p4', 'p5'],
  },
  { filter: 'tags ?= @collection.teams.name', expected: [] },
  // @request.auth: empty when anonymous (QUERY-LANGUAGE.md: "@request.auth.id != '' means signed in")
  { filter: '@request.auth.id != ""', expected: [] },
  { filter: '@request.auth.id != ""', values: { auth: ann }, expected: all },
  { filter: 'author = @request.auth.id', values: { auth: ann }, expected: ['p1', 'p5'] },
  { filter: 'author = @request.auth.id && @request.auth.id != ""', expected: [] },
  // Anonymous @request.auth is unbound: it equals nothing, not even an empty author (p3), and
  // only the literals "" / null see it as empty (docs/reference/query-language.md).
  { filter: 'author = @request.auth.id', expected: [] },
  { filter: 'author != @request.auth.id', expected: [] },
  { filter: 'author = @request.auth.id || views = 5', expected: ['p2'] },
  { filter: '@request.auth.id = ""', expected: all },
  { filter: '@request.auth.id = null', expected: all },
  { filter: '"" = @request.auth.id', expected: all },
  { filter: '@request.auth.team = author.team', expected: [] },
  { filter: 'author.team = @request.auth.team', checkAuth: true, expected: [] },
  { filter: 'tags ?= @request.auth.roles', expected: [] },
  { filter: '@request.auth.name != "Ann"', expected: [] },
  { filter: 'editors ?= @request.auth.id', values: { auth: ann }, expected: ['p1'] },
  {
    filter: 'tags ?= @request.auth.roles',
    values: { auth: { id: 'x', roles: ['tech'] } },
    expected: ['p1', 'p4'],
  },
  {
    filter: '@request.auth.team.name = author.team.name',
    values: { auth: ann },
    checkAuth: true,
    expected: ['p1', 'p5'],
  },
  {
    filter: '@request.auth.roles ?= "admin"',
    values: { auth: ann },
    checkAuth: true,
    expected: all,
  },
  {
    filter: '@request.auth.roles:length = 2',
    values: { auth: ann },
    checkAuth: true,
    expected: all,
  },
  { filter: '@request.auth.name = "Ann"', checkAuth: true, expected: [] },
  // @request.query: coerced to the compared type, unconvertible values match nothing
  { filter: 'views > @request.query.min', values: { query: { min: '6' } }, expected: ['p1', 'p4'] },
  { filter: 'views > @request.query.min', values: { query: { min: 'abc' } }, expected: [] },
  {
    filter: 'published = @request.query.p',
    values: { query: { p: 'true' } },
    expected: ['p1', 'p4'],
  },
  { filter: 'title ~ @request.query.q', values: { query: { q: '_' } }, expected: ['p2'] },
  { filter: 'author.name = @request.query.constructor', expected: ['p3'] },
  // @request.body and its modifiers (rules)
  {
    filter: '@request.body.title:isset = true',
    mode: 'rule',
    values: { body: { title: 'x' } },
    expected: all,
  },
  { filter: '@request.body.title:isset = true', mode: 'rule', expected: [] },
  {
    filter: '@request.body.title:changed = true',
    mode: 'rule',
    values: { body: { title: 'a' }, stored: { title: 'a' } },
    expected: [],
  },
  {
    filter: '@request.body.title:changed = true',
    mode: 'rule',
    values: { body: { title: 'b' }, stored: { title: 'a' } },
    expected: all,
  },
  {
    filter: '@request.body.tags:length > 1',
    mode: 'rule',
    values: { body: { tags: ['a', 'b'] } },
    expected: all,
  },
  {
    filter: 'tags ?= @request.body.tags',
    mode: 'rule',
    values: { body: { tags: ['tech'] } },
    expected: ['p1', 'p4'],
  },
  {
    filter: 'views < @request.body.views',
    mode: 'rule',
    values: { body: { views: 6 } },
    expected: ['p2', 'p5'],
  },
  {
    filter: '@request.body.title:lower = title:lower',
    mode: 'rule',
    values: { body: { title: 'HELLO world' } },
    expected: ['p1'],
  },
  // literals on both sides, grouping
  { filter: '1 = 1 && (views = 5 || views = 100)', expected: ['p2', 'p4'] },
  { filter: '"a" = "b" || null = null', expected: all },
  // hostile values are just values
  { filter: `title = "'); drop table posts; --"`, expected: [] },
  { filter: `title ~ "%' or 1=1 --"`, expected: [] },
  { filter: 'title = @request.query.q', values: { query: { q: "x' or '1'='1" } }, expected: [] },
]

describe.each(dialects)('compileFilter on %s', (dialect) => {
  let db: Kysely<unknown>
  let destroy: () => Promise<void>

  beforeAll(async () => {
    const raw = await createRawDatabase(dialect)
    db = raw.db as Kysely<unknown>
    destroy = raw.destroy
    await createTables(db, dialect)
  })
  afterAll(async () => destroy())

  async function selectIds(testCase: Case): Promise<string[]> {
    const ctx: CheckContext = {
      collection: posts,
      findCollection: findTestCollection,
      mode: testCase.mode ?? 'filter',
      ...(testCase.checkAuth === true ? { authCollection: users } : {}),
    }
    const checked = checkFilter(parseFilter(testCase.filter), ctx)
    const where = compileFilter(checked, {
      dialect,
      alias: 'p',
      values: { ...baseValues, ...testCase.values },
    })
    const result = await sql<{
      id: string
    }>`select id from posts as p where ${where} order by id`.execute(db)
    return result.rows.map((row) => row.id)
  }

  it.each(cases)('$filter → $expected', async (testCase) => {
    expect(await selectIds(testCase)).toEqual(testCase.expected)
  })

  it('leaves the table intact after hostile values', async () => {
    await selectIds({ filter: `title = "x'); drop table posts; --"`, expected: [] })
    const count = await sql<{ n: number }>`select count(*) as n from posts`.execute(db)
    expect(Number(count.rows[0]?.n)).toBe(5)
  })

  it.each([
    ['author = @request.auth.id', true],
    ['author = @request.auth.id', false],
    ['author = "u1"', false],
  ])('compiles %s (auth checked: %s) to a plain, indexable equality', (filter, checkAuth) => {
    const checked = checkFilter(parseFilter(filter), {
      collection: posts,
      findCollection: findTestCollection,
      mode: 'rule',
      ...(checkAuth ? { authCollection: users } : {}),
    })
    const values = { ...baseValues, auth: ann }
    const compiled = compileFilter(checked, { dialect, alias: 'p', values }).compile(db)
    expect(compiled.sql).not.toContain('coalesce')
    expect(compiled.parameters).toEqual(['u1'])
  })

  it('binds every value as a parameter', () => {
    const checked = checkFilter(parseFilter(`title = "'); drop" && views > 3`), {
      collection: posts,
      findCollection: findTestCollection,
      mode: 'filter',
    })
    const compiled = compileFilter(checked, { dialect, alias: 'p', values: baseValues }).compile(db)
    expect(compiled.sql).not.toContain('drop')
    expect(compiled.parameters).toContain("'); drop")
    expect(compiled.parameters).toContain(3)
  })

  it('reads only the macro values an expression names', () => {
    // page-query-cache.ts keys a compiled statement by what its compile read: a filter that
    // names no caller must compile the same for everyone, so it must not read the caller.
    const read: string[] = []
    const watched = new Proxy(baseValues, {
      get(target, name, receiver) {
        read.push(String(name))
        return Reflect.get(target, name, receiver) as unknown
      },
    })
    const compile = (text: string) => {
      read.length = 0
      const checked = checkFilter(parseFilter(text), {
        collection: posts,
        findCollection: findTestCollection,
        mode: 'rule',
        authCollection: users,
      })
      compileFilter(checked, { dialect, alias: 'p', values: watched }).compile(db)
      return [...new Set(read)].sort()
    }
    expect(compile('title = "x" && views > 3')).toEqual([])
    expect(compile('author = @request.auth.id')).toEqual(['auth'])
    expect(compile('created < @now')).toEqual(['now'])
    expect(compile('title = @request.query.title')).toEqual(['query'])
  })
})
