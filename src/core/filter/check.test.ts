import { describe, expect, it } from 'vitest'
import { EngineError } from '../errors/engine-error.js'
import { checkFilter, type CheckContext, type CheckedCompare } from './check.js'
import { parseFilter } from './parser.js'
import { defineCollection, findTestCollection, posts, users } from './test-schema.js'

const filterCtx: CheckContext = {
  collection: posts,
  findCollection: findTestCollection,
  mode: 'filter',
}
const ruleCtx: CheckContext = { ...filterCtx, mode: 'rule' }

function check(text: string, ctx: CheckContext = filterCtx) {
  return checkFilter(parseFilter(text), ctx)
}

function checkError(text: string, ctx: CheckContext = filterCtx): EngineError {
  try {
    check(text, ctx)
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError)
    return error as EngineError
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail the check`)
}

function expectError(text: string, code: string, position: number, ctx?: CheckContext) {
  const error = checkError(text, ctx)
  expect(error.code).toBe(code)
  expect(error.errors?.filter?.[0]?.message).toMatch(new RegExp(`^at position ${position}: `))
  return error
}

describe('checkFilter resolves paths', () => {
  it('resolves fields and system fields with their kinds', () => {
    const checked = check('title = "a" && created > "2026-01-01" && id != ""')
    expect(checked).toMatchObject({ kind: 'and', left: { kind: 'and' } })
    const compare = check('created > "2026-01-01"') as CheckedCompare
    expect(compare.type).toBe('date')
    expect(compare.right).toMatchObject({ kind: 'literal', value: '2026-01-01T00:00:00.000Z' })
  })

  it('carries the relation chain so the compiler needs no schema', () => {
    const compare = check('author.team.org.name ~ "acme"') as CheckedCompare
    expect(compare.left).toMatchObject({
      kind: 'field',
      root: { kind: 'record' },
      multi: false,
      type: 'text',
      steps: [
        { collection: 'posts', field: 'author', kind: 'text', multi: false, relation: 'users' },
        { collection: 'users', field: 'team', relation: 'teams' },
        { collection: 'teams', field: 'org', relation: 'orgs' },
        { collection: 'orgs', field: 'name', kind: 'text', multi: false },
      ],
    })
  })

  it('makes an operand multi-valued after a multi relation hop or through @collection', () => {
    expect((check('editors.name = "a"') as CheckedCompare).left).toMatchObject({ multi: true })
    expect((check('tags = "a"') as CheckedCompare).left).toMatchObject({ multi: true })
    expect((check('tags:length = 1') as CheckedCompare).left).toMatchObject({
      multi: false,
      type: 'number',
    })
    expect((check('@collection.teams.name = "a"') as CheckedCompare).left).toMatchObject({
      root: { kind: 'collection', name: 'teams' },
      multi: true,
    })
  })

  it('reports unknown fields at their own position', () => {
    expectError('nope = 1', 'ER_FILTER_UNKNOWN_FIELD', 0)
    expectError('title = "a" && author.nope = 1', 'ER_FILTER_UNKNOWN_FIELD', 22)
    expectError('@collection.teams.nope = 1', 'ER_FILTER_UNKNOWN_FIELD', 18)
    expectError('@collection.nope.name = 1', 'ER_FILTER_UNKNOWN_FIELD', 0)
    expectError('comments_via_post.id = 1', 'ER_FILTER_UNKNOWN_FIELD', 0)
  })

  it('rejects a hop through a field that is not a relation', () => {
    const error = expectError('title.name = "a"', 'ER_FILTER_UNKNOWN_FIELD', 0)
    expect(error.message).toContain('not a relation')
  })

  it('allows three relation hops and rejects a fourth', () => {
    expect(() => check('author.team.org.name = "a"')).not.toThrow()
    const deep = defineCollection('deep', [{ name: 'post', type: 'relation', collection: 'posts' }])
    const ctx = { ...filterCtx, collection: deep }
    expectError('post.author.team.org.name = "a"', 'ER_FILTER_LIMIT', 0, ctx)
  })

  it('refuses hops into collections the caller may not reach', () => {
    const ctx = { ...filterCtx, canTraverse: (c: { name: string }) => c.name !== 'teams' }
    expectError('author.team.name = "a"', 'ER_FILTER_UNKNOWN_FIELD', 7, ctx)
    expectError('@collection.teams.name = "a"', 'ER_FILTER_UNKNOWN_FIELD', 0, ctx)
  })

  it('hides secret and hidden fields from filters', () => {
    expectError('draftNote = "x"', 'ER_FILTER_UNKNOWN_FIELD', 0)
    expectError('author.password = "x"', 'ER_FILTER_UNKNOWN_FIELD', 7)
    expectError('author.tokenKey = "x"', 'ER_FILTER_UNKNOWN_FIELD', 7)
    expectError('author.secret = "x"', 'ER_FILTER_UNKNOWN_FIELD', 7)
    expect(() => check('author.email = "x" && author.verified = true')).not.toThrow()
  })

  it('lets rules read user-hidden fields but never secrets', () => {
    expect(() => check('draftNote = "x"', ruleCtx)).not.toThrow()
    expectError('author.password = "x"', 'ER_FILTER_UNKNOWN_FIELD', 7, ruleCtx)
  })
})

describe('checkFilter types', () => {
  it.each([
    ['views ~ 3', 0],
    ['views = "3"', 0],
    ['title = 3', 0],
    ['created > true', 0],
    ['published > true', 0],
    ['published = 1', 0],
    ['data = "x"', 0],
    ['data ~ "x"', 0],
    ['created ~ "2026-01-01"', 0],
    ['views > null', 0],
    ['title ~ null', 0],
    ['tags ~ @collection.teams.name', 0],
    ['title:length = 1', 0],
    ['views:lower = "1"', 0],
    ['publishedAt = "yesterday"', 14],
    ['publishedAt > "2026-02-30"', 14],
  ])('%s is a type mismatch at %i', (text, position) => {
    expectError(text, 'ER_FILTER_TYPE_MISMATCH', position)
  })

  it.each([
    'views = null',
    'null != published',
    'data = null',
    'views >= 1.5',
    'title > "m"',
    'title ~ "x%"',
    'tags ~ "news"',
    'tags ?~ "ne"',
    'editors ?= @request.auth.id',
    'publishedAt < @now',
    'publishedAt = "2026-01-02 10:00:00"',
    'views > @request.query.min',
    '@request.auth.id != ""',
    '@request.auth.anything.at.all = 1',
    'author.name:lower = "ann"',
    'editors:length > 1',
    '1 = 1',
  ])('%s type-checks', (text) => {
    expect(() => check(text)).not.toThrow()
  })

  it('types @request.auth fields against the auth collection when given', () => {
    const ctx = { ...filterCtx, authCollection: users }
    const compare = check('@request.auth.team.name = "x"', ctx) as CheckedCompare
    expect(compare.left).toMatchObject({ kind: 'field', root: { kind: 'auth' }, type: 'text' })
    expectError('@request.auth.nope = "x"', 'ER_FILTER_UNKNOWN_FIELD', 14, ctx)
    expectError('@request.auth.tokenKey = "x"', 'ER_FILTER_UNKNOWN_FIELD', 14, ctx)
    expectError('@request.auth.verified = "x"', 'ER_FILTER_TYPE_MISMATCH', 0, ctx)
  })

  it('knows the caller collection as @request.auth.collectionName / collectionId', () => {
    for (const ctx of [filterCtx, { ...filterCtx, authCollection: users }]) {
      const compare = check('@request.auth.collectionName = "users"', ctx) as CheckedCompare
      expect(compare.left).toMatchObject({ kind: 'request', source: 'auth', type: 'text' })
      expect(check('@request.auth.collectionId != ""', ctx)).toMatchObject({ type: 'text' })
    }
  })
})

describe('checkFilter macros by mode', () => {
  it.each([
    ['@request.body.title = "x"', 0],
    ['title = "a" || @request.body.title:isset = true', 15],
    ['title:changed = true', 0],
    ['title:isset = true', 0],
  ])('rejects %s in a filter', (text, position) => {
    expectError(text, 'ER_FILTER_MACRO_NOT_ALLOWED', position)
  })

  it('allows body macros and their modifiers in rules', () => {
    const compare = check('@request.body.title:changed = false', ruleCtx) as CheckedCompare
    expect(compare.left).toMatchObject({
      kind: 'request',
      source: 'body',
      modifier: 'changed',
      type: 'bool',
    })
    expect(() =>
      check('@request.body.views > views && @request.body.tags:length < 3', ruleCtx),
    ).not.toThrow()
    expectError('@request.body.views = "x"', 'ER_FILTER_TYPE_MISMATCH', 0, ruleCtx)
  })

  it('restricts :isset and :changed to body fields', () => {
    expectError('title:isset = true', 'ER_FILTER_TYPE_MISMATCH', 0, ruleCtx)
  })

  it('allows @now, @request.auth, @request.query and @collection in filters', () => {
    expect(() =>
      check(
        '@now > created && @request.auth.id = author && @request.query.q = title && @collection.teams.name ?= "a"',
      ),
    ).not.toThrow()
  })
})
