/**
 * The GraphQL schema follows the collections without a restart: new collections and fields
 * appear, renamed and deleted ones go, and requests running while the schema changes finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollection } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import { dataOf, errorCode, gql } from './graphql-fixture.js'

describe.each(await availableDialects())('live GraphQL schema on %s', (dialect) => {
  let t: TestEngine
  beforeAll(async () => {
    t = await createTestEngine(dialect)
  })
  afterAll(() => t.close())

  it('adds, renames and removes types and fields as collections change', async () => {
    expect(errorCode(await gql(t, `{ blogPosts { totalItems } }`))).toBe('ER_GRAPHQL_INVALID')
    const created = await createCollection(t, {
      name: 'blog_posts',
      fields: [{ name: 'headline', type: 'text' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    const made = await gql(
      t,
      `mutation { createBlogPosts(input: { headline: "hi" }) { id headline } }`,
    )
    expect(dataOf(made).createBlogPosts).toMatchObject({ headline: 'hi' })
    // Rename the field (by id): the old name is gone, the data is under the new one.
    const fields = created.fields as { id: string; name: string }[]
    const res = await t.call({
      method: 'PATCH',
      url: '/api/collections/blog_posts',
      payload: { fields: [{ ...fields[0], name: 'title' }] },
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(errorCode(await gql(t, `{ blogPosts { items { headline } } }`))).toBe(
      'ER_GRAPHQL_INVALID',
    )
    expect(dataOf(await gql(t, `{ blogPosts { items { title } } }`))).toEqual({
      blogPosts: { items: [{ title: 'hi' }] },
    })
    expect(
      (await t.call({ method: 'DELETE', url: '/api/collections/blog_posts' })).statusCode,
    ).toBe(204)
    expect(errorCode(await gql(t, `{ blogPosts { totalItems } }`))).toBe('ER_GRAPHQL_INVALID')
  })

  it('keeps answering requests while the schema changes under them', async () => {
    await createCollection(t, {
      name: 'notes',
      fields: [{ name: 'body', type: 'text' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    const reads = Array.from({ length: 30 }, () =>
      gql(t, `{ notes { totalItems items { id body } } }`),
    )
    const change = createCollection(t, {
      name: 'tags',
      fields: [{ name: 'label', type: 'text' }],
      rules: { list: '', view: '', create: '', update: '', delete: '' },
    })
    const more = Array.from({ length: 30 }, () => gql(t, `{ notes { totalItems } }`))
    await change
    for (const result of await Promise.all([...reads, ...more])) {
      expect(result.errors).toBeUndefined()
      expect(result.status).toBe(200)
    }
    expect(dataOf(await gql(t, `{ tags { totalItems } }`))).toEqual({ tags: { totalItems: 0 } })
  })

  it('maps clashing collection names predictably', async () => {
    for (const name of ['shop_items', 'shopItems']) {
      await createCollection(t, {
        name,
        fields: [{ name: 'sku', type: 'text' }],
        rules: { list: '', view: '', create: '', update: '', delete: '' },
      })
    }
    const types = dataOf(await gql(t, `{ __schema { types { name } } }`)).__schema as {
      types: { name: string }[]
    }
    const names = types.types.map((x) => x.name)
    expect(names).toContain('C_shop_items')
    expect(names).toContain('C_shopItems')
    expect(names).not.toContain('ShopItems')
    expect(dataOf(await gql(t, `{ c_shop_items { perPage } c_shopItems { perPage } }`))).toEqual({
      c_shop_items: { perPage: 30 },
      c_shopItems: { perPage: 30 },
    })
  })
})
