/**
 * The blog the GraphQL suites share: users (auth), posts (owner rules, a hidden field, a
 * relation to users) and comments (relations to posts and users), seeded through REST.
 */
import { expect } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import type { DialectName } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

export interface GraphqlResult {
  status: number
  data?: Record<string, unknown> | null
  errors?: {
    message: string
    path?: (string | number)[]
    locations?: unknown[]
    extensions: { code: string; status?: number; errors?: Record<string, unknown[]> } & Record<
      string,
      unknown
    >
  }[]
}

/** POST /graphql as `token` (the superuser by default, nobody with `null`). */
export async function gql(
  t: TestEngine,
  query: string,
  variables?: Record<string, unknown>,
  token: string | null = t.token,
): Promise<GraphqlResult> {
  const res = await t.call({
    method: 'POST',
    url: '/graphql',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    anonymous: true,
    payload: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  })
  return { status: res.statusCode, ...(res.json() as Omit<GraphqlResult, 'status'>) }
}

/** The data of a result that must have succeeded. */
export function dataOf(result: GraphqlResult): Record<string, unknown> {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined()
  expect(result.status).toBe(200)
  return result.data as Record<string, unknown>
}

/** The code of the only error of a result that must have failed. */
export function errorCode(result: GraphqlResult): string {
  expect(result.errors?.length, JSON.stringify(result)).toBe(1)
  return result.errors?.[0]?.extensions.code as string
}

export const OWNER = 'author = @request.auth.id'

export interface Blog {
  t: TestEngine
  tokens: { alice: string; bob: string }
  /** Post ids in creation order; posts 0-39 alice's (published), 40-54 bob's (published), 55-59 bob's drafts. */
  posts: string[]
  bobDraft: string
}

export async function createBlog(
  dialect: DialectName,
  options: Parameters<typeof createTestEngine>[1] = {},
): Promise<Blog> {
  const t = await createTestEngine(dialect, options)
  await createCollection(t, {
    name: 'users',
    type: 'auth',
    fields: [{ name: 'name', type: 'text' }],
    rules: { list: '', view: '', create: '', update: 'id = @request.auth.id', delete: null },
  })
  await createCollection(t, {
    name: 'posts',
    fields: [
      { name: 'title', type: 'text', required: true, max: 200 },
      { name: 'status', type: 'select', values: ['draft', 'published'], default: 'draft' },
      { name: 'secret', type: 'text', hidden: true },
      { name: 'views', type: 'number' },
      { name: 'meta', type: 'json' },
      { name: 'author', type: 'relation', collection: 'users' },
    ],
    indexes: [{ fields: ['status', 'title'] }],
    rules: {
      list: `status = "published" || ${OWNER}`,
      view: `status = "published" || ${OWNER}`,
      create: `@request.auth.id != "" && @request.body.author = @request.auth.id`,
      update: OWNER,
      delete: OWNER,
    },
  })
  await createCollection(t, {
    name: 'comments',
    fields: [
      { name: 'body', type: 'text', required: true },
      { name: 'post', type: 'relation', collection: 'posts', onDelete: 'cascade' },
      { name: 'author', type: 'relation', collection: 'users' },
    ],
    rules: { list: '', view: '', create: '@request.auth.id != ""', update: null, delete: null },
  })
  const batch = async (requests: object[]) => {
    const res = await t.call({ method: 'POST', url: '/api/batch', payload: { requests } })
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200)
    return (res.json() as { body: { id: string } }[]).map((r) => r.body)
  }
  const users = await batch(
    ['alice', 'bob'].map((name) => ({
      method: 'POST',
      url: '/api/collections/users/records',
      body: { id: `u${name}`, email: `${name}@example.com`, password: `${name} password`, name },
    })),
  )
  expect(users.map((u) => u.id)).toEqual(['ualice', 'ubob'])
  const posts = await batch(
    Array.from({ length: 60 }, (_, i) => ({
      method: 'POST',
      url: '/api/collections/posts/records',
      body: {
        title: `post ${String(i).padStart(2, '0')}`,
        status: i < 55 ? 'published' : 'draft',
        secret: `secret ${i}`,
        views: i,
        meta: { n: i },
        author: i < 40 ? 'ualice' : 'ubob',
      },
    })),
  )
  const postIds = posts.map((p) => p.id)
  // Two comments on each of the first 50 posts, and one on bob's first draft.
  const commentPosts = [...postIds.slice(0, 50), ...postIds.slice(0, 50), postIds[55] as string]
  const comments = commentPosts.map((post, i) => ({
    method: 'POST',
    url: '/api/collections/comments/records',
    body: { body: `comment ${i}`, post, author: i % 2 === 0 ? 'ualice' : 'ubob' },
  }))
  await batch(comments.slice(0, 60))
  await batch(comments.slice(60))
  const login = async (name: string) => {
    const res = await gql(
      t,
      `mutation ($identity: String!, $password: String!) {
        authWithPasswordUsers(identity: $identity, password: $password) { token mfaRequired }
      }`,
      { identity: `${name}@example.com`, password: `${name} password` },
      null,
    )
    const data = dataOf(res).authWithPasswordUsers as { token: string; mfaRequired: boolean }
    expect(data.mfaRequired).toBe(false)
    return data.token
  }
  return {
    t,
    tokens: { alice: await login('alice'), bob: await login('bob') },
    posts: postIds,
    bobDraft: postIds[55] as string,
  }
}
