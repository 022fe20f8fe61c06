import { describe, expect, it } from 'vitest'
import type { CollectionDef } from '../core/schema/types.js'
import { collectionNames, isGraphqlFieldName, pascalCase } from './naming.js'

const collection = (name: string, fields: object[] = []): CollectionDef =>
  ({
    id: `id_${name}`,
    name,
    type: 'base',
    fields,
    indexes: [],
    rules: {},
  }) as unknown as CollectionDef

const select = (name: string) => ({ id: `f_${name}`, name, type: 'select', values: ['a'] })

describe('GraphQL names of collections', () => {
  it('turns snake_case and leading underscores into PascalCase', () => {
    expect(pascalCase('blog_posts')).toBe('BlogPosts')
    expect(pascalCase('_superusers')).toBe('Superusers')
    expect(pascalCase('post2')).toBe('Post2')
    expect(pascalCase('a__b')).toBe('AB')
    expect(pascalCase('_2')).toBe('C2')
  })

  it('names types in the singular and operations after the collection as written', () => {
    const { names, omitted } = collectionNames([collection('blog_posts', [select('status')])])
    expect(omitted).toEqual([])
    expect(names.get('blog_posts')).toEqual({
      type: 'BlogPost',
      page: 'BlogPostPage',
      createInput: 'BlogPostCreateInput',
      updateInput: 'BlogPostUpdateInput',
      change: 'BlogPostChange',
      authResult: 'BlogPostAuthResult',
      list: 'blogPosts',
      byId: 'blogPostsById',
      create: 'createBlogPosts',
      update: 'updateBlogPosts',
      remove: 'deleteBlogPosts',
      authWithPassword: 'authWithPasswordBlogPosts',
      authRefresh: 'authRefreshBlogPosts',
      authMfaVerify: 'authMfaVerifyBlogPosts',
      changes: 'blogPostsChanges',
      enums: { status: 'BlogPostStatus' },
    })
  })

  it('keeps invariant and irregular words and already singular names', () => {
    const type = (name: string) => collectionNames([collection(name)]).names.get(name)?.type
    expect(type('news')).toBe('News')
    expect(type('people')).toBe('Person')
    expect(type('categories')).toBe('Category')
    expect(type('addresses')).toBe('Address')
    expect(type('status')).toBe('Status')
    expect(type('ledger')).toBe('Ledger')
    expect(type('_superusers')).toBe('Superuser')
    expect(collectionNames([collection('news')]).names.get('news')?.byId).toBe('newsById')
  })

  it('keeps the plural of every collection whose singular another collection also takes', () => {
    for (const order of [
      ['post', 'posts', 'tags'],
      ['tags', 'posts', 'post'],
    ]) {
      const { names, omitted } = collectionNames(order.map((n) => collection(n)))
      expect(omitted).toEqual([])
      expect(names.get('post')?.type).toBe('Post')
      expect(names.get('posts')?.type).toBe('Posts')
      expect(names.get('posts')?.page).toBe('PostsPage')
      expect(names.get('posts')?.list).toBe('posts')
      expect(names.get('post')?.list).toBe('post')
      expect(names.get('tags')?.type).toBe('Tag')
    }
    // `person` and `people` meet at `Person`: the same answer for an irregular plural.
    const people = collectionNames([collection('person'), collection('people')]).names
    expect([people.get('person')?.type, people.get('people')?.type]).toEqual(['Person', 'People'])
  })

  it('names select enums apart from the collection’s other types and from each other', () => {
    const { names, omitted } = collectionNames([
      collection('posts', [select('page'), select('status'), select('Status'), select('kind')]),
    ])
    expect(omitted).toEqual([])
    expect(names.get('posts')?.enums).toEqual({
      page: 'Post_page',
      status: 'Post_status',
      Status: 'Post_Status',
      kind: 'PostKind',
    })
    // Another collection's type may not be an enum's name: both move on, whatever the order.
    const both = collectionNames([collection('post_kinds'), collection('posts', [select('kind')])])
    expect(both.omitted).toEqual([])
    const all = [...both.names.values()].flatMap(({ enums, ...rest }) => [
      ...Object.values(rest),
      ...Object.values(enums),
    ])
    expect(both.names.get('post_kinds')?.type).toBe('PostKinds')
    expect(new Set(all).size).toBe(all.length)
  })

  it('falls back to raw names for every collection in a clash, whatever the order', () => {
    for (const order of [
      ['blog_posts', 'blogPosts', 'tags'],
      ['tags', 'blogPosts', 'blog_posts'],
    ]) {
      const { names } = collectionNames(order.map((n) => collection(n)))
      expect(names.get('blog_posts')?.type).toBe('C_blog_posts')
      expect(names.get('blogPosts')?.type).toBe('C_blogPosts')
      expect(names.get('blogPosts')?.list).toBe('c_blogPosts')
      expect(names.get('tags')?.type).toBe('Tag')
    }
  })

  it('does not let a derived name of one collection take another one’s name', () => {
    // `post_page` would be `PostPage`, the page type of `posts`.
    const { names } = collectionNames([collection('posts'), collection('post_page')])
    expect(names.get('posts')?.page).toBe('PostsPage')
    expect(names.get('post_page')?.type).toBe('PostPage')
    expect(names.get('post_page')?.page).toBe('PostPagePage')
  })

  it('keeps collections off the names the schema defines itself', () => {
    const { names } = collectionNames(
      ['query', 'JSON', 'change_actions', 'queries'].map((n) => collection(n)),
    )
    expect(names.get('query')?.type).toBe('C_query')
    expect(names.get('JSON')?.type).toBe('C_JSON')
    // Its singular `ChangeAction` is taken; its name as written is not.
    expect(names.get('change_actions')?.type).toBe('ChangeActions')
    expect(names.get('queries')?.type).toBe('Queries')
    // GraphQL names are case-sensitive: `Json` is not `JSON`.
    expect(collectionNames([collection('json')]).names.get('json')?.type).toBe('Json')
  })

  it('leaves out a collection whose names clash even in raw form, and says which', () => {
    // `C_ab` + `Page` = `C_abPage`, the raw type name of `abPage`.
    const { names, omitted } = collectionNames(
      ['ab', 'abPage', 'Ab', 'AbPage'].map((n) => collection(n)),
    )
    expect(omitted.length).toBeGreaterThan(0)
    for (const name of omitted) expect(names.has(name)).toBe(false)
    const all = [...names.values()].flatMap((n) => Object.values(n))
    expect(new Set(all).size).toBe(all.length)
  })

  it('reserves field names starting with __ for GraphQL', () => {
    expect(isGraphqlFieldName('title')).toBe(true)
    expect(isGraphqlFieldName('_private')).toBe(true)
    expect(isGraphqlFieldName('__typename')).toBe(false)
  })
})
