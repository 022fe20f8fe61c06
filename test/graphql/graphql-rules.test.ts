/**
 * GraphQL denies exactly what REST denies: each case runs the same action through both APIs,
 * as the same caller, and compares the outcome (the error code, or what is visible). An
 * operation no rule could ever grant the caller is not in its schema at all, so it is refused
 * in validation instead. Every refused write is followed by a look at the database: nothing
 * may have changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableDialects } from '../helpers/dialects.js'
import { createBlog, dataOf, errorCode, gql, type Blog } from './graphql-fixture.js'

type Who = 'anon' | 'alice' | 'bob'
type Rec = Record<string, unknown>

interface WriteCase {
  name: string
  who: Who
  rest: { method: 'POST' | 'PATCH' | 'DELETE'; url: (b: Blog) => string; body?: object }
  graphql: (b: Blog) => string
  /**
   * No rule could ever grant the caller's class this: the mutation is not in its schema, so
   * GraphQL refuses it in validation (ER_GRAPHQL_INVALID, 400) where REST answers 401/403/404.
   */
  absentFromSchema?: true
}

const postUrl = (id?: string) => `/api/collections/posts/records${id ? `/${id}` : ''}`

const writes: WriteCase[] = [
  {
    name: 'anonymous create',
    absentFromSchema: true,
    who: 'anon',
    rest: { method: 'POST', url: () => postUrl(), body: { title: 'x', author: 'ualice' } },
    graphql: () => `mutation { createPosts(input: { title: "x", author: "ualice" }) { id } }`,
  },
  {
    name: 'create in the name of another user',
    who: 'alice',
    rest: { method: 'POST', url: () => postUrl(), body: { title: 'x', author: 'ubob' } },
    graphql: () => `mutation { createPosts(input: { title: "x", author: "ubob" }) { id } }`,
  },
  {
    name: "update of another user's published post",
    who: 'alice',
    rest: { method: 'PATCH', url: (b) => postUrl(b.posts[40]), body: { title: 'mine now' } },
    graphql: (b) =>
      `mutation { updatePosts(id: "${b.posts[40]}", input: { title: "mine now" }) { id } }`,
  },
  {
    name: "update of another user's draft (invisible)",
    who: 'alice',
    rest: { method: 'PATCH', url: (b) => postUrl(b.bobDraft), body: { title: 'mine now' } },
    graphql: (b) =>
      `mutation { updatePosts(id: "${b.bobDraft}", input: { title: "mine now" }) { id } }`,
  },
  {
    name: "delete of another user's post",
    who: 'alice',
    rest: { method: 'DELETE', url: (b) => postUrl(b.posts[41]) },
    graphql: (b) => `mutation { deletePosts(id: "${b.posts[41]}") }`,
  },
  {
    name: 'anonymous delete',
    absentFromSchema: true,
    who: 'anon',
    rest: { method: 'DELETE', url: (b) => postUrl(b.posts[0]) },
    graphql: (b) => `mutation { deletePosts(id: "${b.posts[0]}") }`,
  },
  {
    name: 'moving own post to another author',
    who: 'alice',
    rest: { method: 'PATCH', url: (b) => postUrl(b.posts[1]), body: { author: 'ubob' } },
    graphql: (b) =>
      `mutation { updatePosts(id: "${b.posts[1]}", input: { author: "ubob" }) { id } }`,
  },
  {
    name: 'comments are closed to updates for everyone but superusers',
    absentFromSchema: true,
    who: 'alice',
    rest: { method: 'PATCH', url: () => '/api/collections/comments/records/none', body: {} },
    graphql: () => `mutation { updateComments(id: "none", input: { body: "x" }) { id } }`,
  },
]

describe.each(await availableDialects())('GraphQL rules on %s', (dialect) => {
  let blog: Blog
  beforeAll(async () => {
    blog = await createBlog(dialect)
  })
  afterAll(() => blog.t.close())

  const tokenOf = (who: Who) => (who === 'anon' ? null : blog.tokens[who])
  /** Every post as the superuser sees it: the database's state, for before/after checks. */
  const allPosts = async () =>
    JSON.stringify(
      dataOf(
        await gql(
          blog.t,
          `{ posts(perPage: 500, sort: "id") { items { id title author { id } } } }`,
        ),
      ).posts,
    )

  it.each(writes)('$name: same refusal as REST, nothing changed', async (c) => {
    const { t } = blog
    const before = await allPosts()
    const token = tokenOf(c.who)
    const rest = await t.call({
      method: c.rest.method,
      url: c.rest.url(blog),
      headers: token ? { authorization: `Bearer ${token}` } : {},
      anonymous: true,
      ...(c.rest.body ? { payload: c.rest.body } : {}),
    })
    expect(rest.statusCode).toBeGreaterThanOrEqual(400)
    const restCode = (rest.json() as { code: string }).code
    const result = await gql(t, c.graphql(blog), undefined, token)
    if (c.absentFromSchema) {
      expect(errorCode(result)).toBe('ER_GRAPHQL_INVALID')
      expect(result.errors?.[0]?.message).toMatch(/^Cannot query field "\w+" on type "Mutation"/)
    } else {
      expect(errorCode(result)).toBe(restCode)
      expect(result.errors?.[0]?.extensions.status).toBe(rest.statusCode)
    }
    expect(await allPosts()).toBe(before)
  })

  it('lists only what the list rule allows, and a filter cannot widen it', async () => {
    const { t, bobDraft } = blog
    for (const who of ['anon', 'alice', 'bob'] as const) {
      const query = `{ posts(perPage: 500, filter: "status = 'draft' || status != 'draft'") { totalItems items { id } } }`
      const page = dataOf(await gql(t, query, undefined, tokenOf(who))).posts as {
        items: Rec[]
        totalItems: number
      }
      const rest = await t.call({
        method: 'GET',
        url: `${postUrl()}?perPage=500&count=true&filter=${encodeURIComponent("status = 'draft' || status != 'draft'")}`,
        headers: tokenOf(who) ? { authorization: `Bearer ${tokenOf(who)}` } : {},
        anonymous: true,
      })
      const restPage = rest.json() as { items: Rec[]; totalItems: number }
      expect(page.items.map((p) => p.id)).toEqual(restPage.items.map((p) => p.id))
      expect(page.totalItems).toBe(restPage.totalItems)
      expect(page.items.some((p) => p.id === bobDraft)).toBe(who === 'bob')
    }
  })

  it('leaves out related records the caller may not view, in both directions', async () => {
    const { t, tokens, bobDraft } = blog
    const query = `{ comments(perPage: 500) { items { body post { id title } } } }`
    const asAlice = dataOf(await gql(t, query, undefined, tokens.alice)).comments as {
      items: { body: string; post: Rec | null }[]
    }
    const onDraft = asAlice.items.find((c) => c.body === 'comment 100')
    expect(onDraft).toEqual({ body: 'comment 100', post: null })
    const asBob = dataOf(await gql(t, query, undefined, tokens.bob)).comments as {
      items: { body: string; post: Rec | null }[]
    }
    expect(asBob.items.find((c) => c.body === 'comment 100')?.post).toEqual({
      id: bobDraft,
      title: 'post 55',
    })
    // Back-relations from users: alice's list of bob's posts has no drafts.
    const users = `{ usersById(id: "ubob") { posts_via_author { id } } }`
    const bobsPosts = (
      dataOf(await gql(t, users, undefined, tokens.alice)).usersById as {
        posts_via_author: Rec[]
      }
    ).posts_via_author
    expect(bobsPosts.length).toBe(15)
    expect(bobsPosts.some((p) => p.id === bobDraft)).toBe(false)
  })

  it('shows hidden fields to superusers only, through relations too', async () => {
    const { t, tokens } = blog
    const query = `{ comments(perPage: 1, sort: "body") { items { post { secret } } } }`
    const secretOf = (result: Awaited<ReturnType<typeof gql>>) =>
      (dataOf(result).comments as { items: { post: { secret: string | null } }[] }).items[0]?.post
        .secret
    // Not in a signed-in user's schema at all (see graphql-schema-visibility.test.ts).
    expect(errorCode(await gql(t, query, undefined, tokens.alice))).toBe('ER_GRAPHQL_INVALID')
    expect(secretOf(await gql(t, query))).toMatch(/^secret \d+$/)
    // A filter on a hidden field is refused as in REST: it would leak the value.
    const probe = await gql(
      t,
      `{ posts(filter: "secret = 'secret 1'") { totalItems } }`,
      undefined,
      tokens.alice,
    )
    const rest = await t.call({
      method: 'GET',
      url: `${postUrl()}?filter=${encodeURIComponent("secret = 'secret 1'")}`,
      headers: { authorization: `Bearer ${tokens.alice}` },
      anonymous: true,
    })
    expect(errorCode(probe)).toBe((rest.json() as { code: string }).code)
  })

  it('never answers with a password hash or token key', async () => {
    const { t } = blog
    const res = await t.call({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ query: '{ users { items { id email name } } }' }),
    })
    expect(res.statusCode).toBe(200)
    expect(res.body).not.toMatch(/argon2|tokenKey|password/)
    const fields = await gql(t, `{ __type(name: "User") { fields { name } } }`)
    const names = (dataOf(fields).__type as { fields: { name: string }[] }).fields.map(
      (f) => f.name,
    )
    expect(names).not.toContain('password')
    expect(names).not.toContain('tokenKey')
  })
})
