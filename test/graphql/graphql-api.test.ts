/**
 * GraphQL over the same services as REST, on both dialects: queries, nested relations in both
 * directions, filters, sorting, cursors, totals, mutations, auth mutations, and a constant
 * number of SQL statements however many records a page holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { availableDialects } from '../helpers/dialects.js'
import { createBlog, dataOf, errorCode, gql, type Blog } from './graphql-fixture.js'

type Rec = Record<string, unknown>
type Page = { items: Rec[]; nextCursor: string | null; totalItems: number | null; page: number }

describe.each(await availableDialects())('GraphQL API on %s', (dialect) => {
  let blog: Blog
  let statements = 0
  beforeAll(async () => {
    // Statements on the blog's record tables only: the dispatcher and pruning run beside the
    // request on their own timers and would make the count depend on timing. So does the
    // caller's session check (re-read once its cache entry is a second old): left out too.
    blog = await createBlog(dialect, {
      onQuery: (event) => {
        if (/"(posts|comments|users)"/.test(event.sql) && !event.sql.includes('_auth_sessions'))
          statements++
      },
    })
  })
  afterAll(() => blog.t.close())

  const POSTS_WITH_RELATIONS = `query ($filter: String, $sort: String, $perPage: Int, $cursor: String) {
    posts(filter: $filter, sort: $sort, perPage: $perPage, cursor: $cursor) {
      totalItems nextCursor page
      items {
        id title status views meta
        author { id name }
        comments_via_post { body author { name } }
      }
    }
  }`

  it('lists with filter, sort, total and relations both ways, as REST with expand does', async () => {
    const { t } = blog
    const variables = { filter: 'views >= 10 && views < 50', sort: '-views', perPage: 7 }
    const page = dataOf(await gql(t, POSTS_WITH_RELATIONS, variables)).posts as Page
    const rest = await t.call({
      method: 'GET',
      url: `/api/collections/posts/records?${new URLSearchParams({
        filter: variables.filter,
        sort: variables.sort,
        perPage: '7',
        count: 'true',
        expand: 'author,comments_via_post.author',
      })}`,
    })
    const restPage = rest.json() as { items: Rec[]; totalItems: number }
    expect(page.totalItems).toBe(40)
    expect(page.totalItems).toBe(restPage.totalItems)
    expect(page.items.map((p) => p.id)).toEqual(restPage.items.map((p) => p.id))
    expect(page.items.map((p) => p.views)).toEqual([49, 48, 47, 46, 45, 44, 43])
    const first = page.items[0] as Rec
    expect(first).toMatchObject({ title: 'post 49', meta: { n: 49 }, author: { name: 'bob' } })
    const restFirst = restPage.items[0] as { expand: { comments_via_post: Rec[] } }
    expect((first.comments_via_post as Rec[]).map((c) => c.body).sort()).toEqual(
      restFirst.expand.comments_via_post.map((c) => c.body).sort(),
    )
    expect((first.comments_via_post as Rec[]).length).toBe(2)
    expect(typeof page.nextCursor).toBe('string')
  })

  it('runs a constant number of SQL statements, whatever the page size', async () => {
    const { t, tokens } = blog
    const count = async (perPage: number) => {
      const before = statements
      const page = dataOf(await gql(t, POSTS_WITH_RELATIONS, { perPage }, tokens.alice))
        .posts as Page
      expect(page.items.length).toBe(perPage)
      expect(page.items.every((p) => (p.author as Rec | null)?.name !== undefined)).toBe(true)
      return statements - before
    }
    const small = await count(2)
    const large = await count(50)
    expect(large).toBe(small)
    // The page, its total, authors, comments and their authors: not 1 + N.
    expect(large).toBeLessThanOrEqual(5)
    expect(large).toBeGreaterThanOrEqual(4)
  })

  it('pages with cursors to the end, without gaps or repeats', async () => {
    const { t, tokens } = blog
    const seen: string[] = []
    let cursor: string | null = null
    for (let i = 0; i < 20; i++) {
      const variables: Rec = { sort: 'title', perPage: 16, ...(cursor ? { cursor } : {}) }
      const page = dataOf(await gql(t, POSTS_WITH_RELATIONS, variables, tokens.alice)).posts as Page
      seen.push(...page.items.map((p) => p.id as string))
      cursor = page.nextCursor
      if (!cursor) break
    }
    // Alice sees every published post (55); bob's 5 drafts are not hers.
    expect(seen.length).toBe(55)
    expect(new Set(seen).size).toBe(55)
    expect(seen).toEqual(blog.posts.slice(0, 55))
  })

  it('gets one record by id, with null for what does not exist or may not be seen', async () => {
    const { t, tokens, bobDraft } = blog
    const query = `query ($id: ID!) { postsById(id: $id) { id title author { name } } }`
    expect(dataOf(await gql(t, query, { id: bobDraft }, tokens.bob)).postsById).toEqual({
      id: bobDraft,
      title: 'post 55',
      author: { name: 'bob' },
    })
    expect(dataOf(await gql(t, query, { id: bobDraft }, tokens.alice)).postsById).toBeNull()
    expect(dataOf(await gql(t, query, { id: bobDraft }, null)).postsById).toBeNull()
    expect(dataOf(await gql(t, query, { id: 'nope' })).postsById).toBeNull()
    // Hidden fields: the superuser sees them, as in REST (no one else's schema has them).
    const withSecret = query.replace('title', 'title secret')
    expect(dataOf(await gql(t, withSecret, { id: bobDraft })).postsById).toMatchObject({
      secret: 'secret 55',
    })
  })

  it('reports filter and sort errors with the REST codes and the failing path', async () => {
    const { t } = blog
    const bad = await gql(t, `{ posts(filter: "nope = 1") { items { id } } }`)
    expect(errorCode(bad)).toBe('ER_FILTER_UNKNOWN_FIELD')
    expect(bad.errors?.[0]?.path).toEqual(['posts'])
    expect(errorCode(await gql(t, `{ posts(sort: "-nope") { items { id } } }`))).toBe(
      'ER_QUERY_INVALID',
    )
    expect(errorCode(await gql(t, `{ posts(cursor: "forged") { items { id } } }`))).toBe(
      'ER_CURSOR_INVALID',
    )
  })

  it('creates, updates and deletes through the records service', async () => {
    const { t, tokens } = blog
    const created = dataOf(
      await gql(
        t,
        `mutation ($input: PostCreateInput!) {
          createPosts(input: $input) { id title status views meta author { id name } }
        }`,
        {
          input: {
            title: 'by graphql',
            status: 'published',
            views: 3,
            meta: { a: [1] },
            author: 'ualice',
          },
        },
        tokens.alice,
      ),
    ).createPosts as Rec
    expect(created).toMatchObject({
      title: 'by graphql',
      views: 3,
      meta: { a: [1] },
      author: { id: 'ualice', name: 'alice' },
    })
    const id = created.id as string
    const updated = dataOf(
      await gql(
        t,
        `mutation ($id: ID!) { updatePosts(id: $id, input: { title: "renamed", meta: null }) { title meta views } }`,
        { id },
        tokens.alice,
      ),
    ).updatePosts
    expect(updated).toEqual({ title: 'renamed', meta: null, views: 3 })
    const rest = await t.call({ method: 'GET', url: `/api/collections/posts/records/${id}` })
    expect(rest.json()).toMatchObject({ title: 'renamed', views: 3 })
    expect(
      dataOf(await gql(t, `mutation ($id: ID!) { deletePosts(id: $id) }`, { id }, tokens.alice)),
    ).toEqual({ deletePosts: true })
    expect(
      (await t.call({ method: 'GET', url: `/api/collections/posts/records/${id}` })).statusCode,
    ).toBe(404)
  })

  it('answers validation errors with the fields named, and writes nothing', async () => {
    const { t, tokens } = blog
    const before = (dataOf(await gql(t, `{ posts { totalItems } }`)).posts as Page).totalItems
    const res = await gql(
      t,
      `mutation { createPosts(input: { title: "", status: draft, author: "ualice" }) { id } }`,
      undefined,
      tokens.alice,
    )
    expect(errorCode(res)).toBe('ER_VALIDATION_FAILED')
    expect(Object.keys(res.errors?.[0]?.extensions.errors ?? {}).sort()).toEqual(['title'])
    expect(res.data).toBeNull()
    // A GraphQL type error never reaches the service: a value outside the select's enum, a
    // string for it, or a required field left out of the create input.
    for (const input of [
      '{ title: "x", status: nope }',
      '{ title: "x", status: "draft" }',
      '{ status: draft }',
    ]) {
      const refused = await gql(
        t,
        `mutation { createPosts(input: ${input}) { id } }`,
        undefined,
        tokens.alice,
      )
      expect(errorCode(refused), input).toBe('ER_GRAPHQL_INVALID')
    }
    const typed = await gql(
      t,
      `mutation { createPosts(input: { title: "x", views: "many" }) { id } }`,
      undefined,
      tokens.alice,
    )
    expect(errorCode(typed)).toBe('ER_GRAPHQL_INVALID')
    expect(typed.status).toBe(400)
    expect((dataOf(await gql(t, `{ posts { totalItems } }`)).posts as Page).totalItems).toBe(before)
  })

  it('signs in, refreshes and rejects wrong passwords and bad tokens', async () => {
    const { t } = blog
    const signIn = `mutation ($p: String!) {
      authWithPasswordUsers(identity: "alice@example.com", password: $p) {
        token refreshToken mfaRequired record { id email name }
      }
    }`
    const ok = dataOf(await gql(t, signIn, { p: 'alice password' }, null))
      .authWithPasswordUsers as Rec
    expect(ok.record).toEqual({ id: 'ualice', email: 'alice@example.com', name: 'alice' })
    const wrong = await gql(t, signIn, { p: 'wrong password' }, null)
    expect(errorCode(wrong)).toBe('ER_AUTH_INVALID_CREDENTIALS')
    expect(JSON.stringify(wrong)).not.toContain('wrong password')
    const refreshed = dataOf(
      await gql(
        t,
        `mutation ($r: String!) { authRefreshUsers(refreshToken: $r) { token refreshToken } }`,
        { r: ok.refreshToken },
        null,
      ),
    ).authRefreshUsers as Rec
    expect(refreshed.refreshToken).not.toBe(ok.refreshToken)
    const me = await gql(t, `{ postsById(id: "x") { id } }`, undefined, refreshed.token as string)
    expect(me.status).toBe(200)
    const bad = await gql(t, `{ posts { page } }`, undefined, 'not-a-token')
    expect(bad.status).toBe(401)
    expect(errorCode(bad)).toBe('ER_AUTH_TOKEN_INVALID')
  })

  it('serves queries over GET, refuses mutations over GET, and reports syntax errors', async () => {
    const { t } = blog
    const get = (query: string) =>
      t.call({
        method: 'GET',
        url: `/graphql?${new URLSearchParams({ query })}`,
        headers: { accept: 'application/graphql-response+json' },
      })
    const ok = await get('{ posts(perPage: 1) { items { id } } }')
    expect(ok.statusCode).toBe(200)
    expect((ok.json() as { data: { posts: Page } }).data.posts.items.length).toBe(1)
    const mutation = await get('mutation { deletePosts(id: "x") }')
    expect(mutation.statusCode).toBe(405)
    // With introspection on, GraphQL's own hints stay.
    const typo = await gql(t, '{ posts { items { titel } } }')
    expect(typo.errors?.[0]?.message).toMatch(/Did you mean "title"\?$/)
    const syntax = await gql(t, '{ posts { items { id }')
    expect(errorCode(syntax)).toBe('ER_GRAPHQL_SYNTAX')
    expect(syntax.errors?.[0]?.locations).toEqual([{ line: 1, column: 23 }])
  })
})
