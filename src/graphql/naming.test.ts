import { describe, expect, it } from 'vitest'
import type { CollectionDef } from '../core/schema/types.js'
import { collectionNames, isGraphqlFieldName, pascalCase } from './naming.js'

const collection = (name: string): CollectionDef =>
  ({
    id: `id_${name}`,
    name,
    type: 'base',
    fields: [],
    indexes: [],
    rules: {},
  }) as unknown as CollectionDef

describe('GraphQL names of collections', () => {
  it('turns snake_case and leading underscores into PascalCase', () => {
    expect(pascalCase('blog_posts')).toBe('BlogPosts')
    expect(pascalCase('_superusers')).toBe('Superusers')
    expect(pascalCase('post2')).toBe('Post2')
    expect(pascalCase('a__b')).toBe('AB')
    expect(pascalCase('_2')).toBe('C2')
  })

  it('derives every name from the type', () => {
    const { names, omitted } = collectionNames([collection('blog_posts')])
    expect(omitted).toEqual([])
    expect(names.get('blog_posts')).toEqual({
      type: 'BlogPosts',
      page: 'BlogPostsPage',
      createInput: 'BlogPostsCreateInput',
      updateInput: 'BlogPostsUpdateInput',
      change: 'BlogPostsChange',
      authResult: 'BlogPostsAuthResult',
      list: 'blogPosts',
      byId: 'blogPostsById',
      create: 'createBlogPosts',
      update: 'updateBlogPosts',
      remove: 'deleteBlogPosts',
      authWithPassword: 'authWithPasswordBlogPosts',
      authRefresh: 'authRefreshBlogPosts',
      authMfaVerify: 'authMfaVerifyBlogPosts',
      changes: 'blogPostsChanges',
    })
  })

  it('falls back to raw names for every collection in a clash, whatever the order', () => {
    for (const order of [
      ['blog_posts', 'blogPosts', 'tags'],
      ['tags', 'blogPosts', 'blog_posts'],
    ]) {
      const { names } = collectionNames(order.map(collection))
      expect(names.get('blog_posts')?.type).toBe('C_blog_posts')
      expect(names.get('blogPosts')?.type).toBe('C_blogPosts')
      expect(names.get('blogPosts')?.list).toBe('c_blogPosts')
      expect(names.get('tags')?.type).toBe('Tags')
    }
  })

  it('does not let a derived name of one collection take another one’s name', () => {
    // `posts_page` would be `PostsPage`, the page type of `posts`.
    const { names } = collectionNames([collection('posts'), collection('posts_page')])
    expect(names.get('posts')?.page).toBe('C_postsPage')
    expect(names.get('posts_page')?.type).toBe('C_posts_page')
  })

  it('keeps collections off the names the schema defines itself', () => {
    const { names } = collectionNames(['query', 'JSON', 'change_action'].map(collection))
    expect(names.get('query')?.type).toBe('C_query')
    expect(names.get('JSON')?.type).toBe('C_JSON')
    expect(names.get('change_action')?.type).toBe('C_change_action')
    // GraphQL names are case-sensitive: `Json` is not `JSON`.
    expect(collectionNames([collection('json')]).names.get('json')?.type).toBe('Json')
  })

  it('leaves out a collection whose names clash even in raw form, and says which', () => {
    // `C_ab` + `Page` = `C_abPage`, the raw type name of `abPage`.
    const { names, omitted } = collectionNames(['ab', 'abPage', 'Ab', 'AbPage'].map(collection))
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
