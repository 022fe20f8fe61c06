import { describe, expect, it } from 'vitest'
import { checkFilter } from './check.js'
import { couldGrant, type CallerClass } from './could-grant.js'
import { parseFilter } from './parser.js'
import { defineCollection, findTestCollection, posts, users } from './test-schema.js'

const staff = defineCollection('staff', [{ name: 'name', type: 'text' }], 'auth')
const anonymous: CallerClass = { kind: 'anonymous' }
const asUsers: CallerClass = { kind: 'auth', collection: users }
const asStaff: CallerClass = { kind: 'auth', collection: staff }

/** The rule checked as resolveRule checks it: against the caller's auth collection, if any. */
function grants(rule: string, caller: CallerClass): boolean {
  const authCollection =
    caller.kind === 'auth' ? (caller.collection.name === 'staff' ? staff : users) : undefined
  const checked = checkFilter(parseFilter(rule), {
    collection: posts,
    findCollection: findTestCollection,
    mode: 'rule',
    ...(authCollection ? { authCollection } : {}),
  })
  return couldGrant(checked, caller)
}

describe('couldGrant', () => {
  it.each([
    // rule, anonymous, a users record, a staff record
    ['title = "x"', true, true, true],
    ['author = @request.auth.id', false, true, false],
    ['@request.auth.id != ""', false, true, true],
    ['@request.auth.id = ""', true, false, false],
    ['@request.auth.id != null', false, true, true],
    ['@request.auth.collectionName = "staff"', false, false, true],
    ['@request.auth.collectionName != "staff"', false, true, false],
    ['@request.auth.collectionId = "c_users"', false, true, false],
    ['title = "x" || author = @request.auth.id', true, true, true],
    ['title = "x" && author = @request.auth.id', false, true, false],
    ['editors ?= @request.auth.id', false, true, false],
    ['@request.auth.collectionName = "staff" || author = @request.auth.id', false, true, true],
    // The caller's own field values are not known for a class: may hold.
    ['@request.auth.name = "ann"', false, true, true],
    ['views > 10 && @request.query.x = "1"', true, true, true],
  ])('%s → anonymous %s, users %s, staff %s', (rule, anon, user, member) => {
    expect([grants(rule, anonymous), grants(rule, asUsers), grants(rule, asStaff)]).toEqual([
      anon,
      user,
      member,
    ])
  })
})
