/**
 * Subscriptions over WebSocket (graphql-ws protocol) with a real client on loopback: each
 * subscriber gets exactly the changes its view rule allows, per event, with hidden fields for
 * superusers only; filters and single-record subscriptions; limits; tokens checked at connect
 * and a revoked session ending the stream.
 */
import { createClient, type Client } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createCollection, createRecord } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createBlog, dataOf, gql, type Blog } from './graphql-fixture.js'

type Rec = Record<string, unknown>
const OWNER_ONLY = 'owner = @request.auth.id'
interface Received {
  values: Rec[]
  errors: unknown[]
  completed: boolean
}

describe.each(await availableDialects())('GraphQL subscriptions on %s', (dialect) => {
  let blog: Blog
  let wsUrl: string
  const clients: Client[] = []
  const hubSize = () => blog.t.engine.realtime?.hub.size ?? 0
  beforeAll(async () => {
    blog = await createBlog(dialect, { realtime: { reauthMs: 200 } })
    const base = await blog.t.app.listen({ host: '127.0.0.1', port: 0 })
    wsUrl = `${base.replace('http', 'ws')}/graphql`
  })
  afterAll(async () => {
    for (const client of clients) await client.dispose()
    await blog.t.close()
  })

  const connect = (token: string | null, extra: { onClose?: (code: number) => void } = {}) => {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      on: { closed: (event) => extra.onClose?.((event as { code: number }).code) },
      onNonLazyError: () => {},
    })
    clients.push(client)
    return client
  }

  /** Subscribes and collects; resolves once the server acknowledged (first write is safe). */
  const subscribe = async (client: Client, query: string, variables?: Rec) => {
    const received: Received = { values: [], errors: [], completed: false }
    const start = hubSize()
    client.subscribe(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (value) => {
          if (value.errors) received.errors.push(...value.errors)
          if (value.data) received.values.push(value.data as Rec)
        },
        error: (error) => received.errors.push(error),
        complete: () => (received.completed = true),
      },
    )
    // The hub attaches the stream asynchronously: wait until it has, so the next write counts.
    await until(() => hubSize() > start || received.errors.length > 0, 'the stream to attach')
    return received
  }

  const until = async (check: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25))
    if (!check()) throw new Error(`timed out waiting for ${what}`)
  }

  const write = async (token: string, query: string, variables?: Rec) =>
    dataOf(await gql(blog.t, query, variables, token))

  it('delivers exactly the changes each subscriber may see, judged per event', async () => {
    const { tokens } = blog
    const query = `subscription { postsChanges { action record { title status author { name } } } }`
    const alice = await subscribe(connect(tokens.alice), query)
    // No token: what anyone may see, judged per event on the record's status.
    const anonymous = await subscribe(connect(null), query)
    // Only a superuser's schema has the hidden field.
    const root = await subscribe(connect(blog.t.token), query.replace('status', 'status secret'))
    const create = `mutation ($input: PostCreateInput!) { createPosts(input: $input) { id } }`
    const draft = (await write(tokens.bob, create, {
      input: { title: 'bob draft', status: 'draft', secret: 's', author: 'ubob' },
    })) as { createPosts: { id: string } }
    await write(tokens.bob, create, {
      input: { title: 'bob public', status: 'published', author: 'ubob' },
    })
    await write(tokens.alice, create, {
      input: { title: 'alice draft', status: 'draft', author: 'ualice' },
    })
    await write(
      tokens.bob,
      `mutation ($id: ID!) { updatePosts(id: $id, input: { status: published, title: "bob now public" }) { id } }`,
      { id: draft.createPosts.id },
    )
    await write(tokens.bob, `mutation ($id: ID!) { deletePosts(id: $id) }`, {
      id: draft.createPosts.id,
    })
    await until(() => alice.values.length >= 4, 'alice to receive 4 changes')
    await until(() => root.values.length >= 5, 'the superuser to receive 5 changes')
    await until(() => anonymous.values.length >= 3, 'the anonymous subscriber to receive 3')
    const summary = (r: Received) =>
      r.values.map((v) => {
        const change = v.postsChanges as { action: string; record: Rec }
        return [change.action, change.record.title]
      })
    expect(summary(alice)).toEqual([
      ['CREATE', 'bob public'],
      ['CREATE', 'alice draft'],
      ['UPDATE', 'bob now public'],
      ['DELETE', 'bob now public'],
    ])
    expect(summary(root)).toEqual([
      ['CREATE', 'bob draft'],
      ['CREATE', 'bob public'],
      ['CREATE', 'alice draft'],
      ['UPDATE', 'bob now public'],
      ['DELETE', 'bob now public'],
    ])
    const first = (r: Received) => (r.values[0]?.postsChanges as { record: Rec }).record
    expect(first(root)).toMatchObject({ secret: 's', author: { name: 'bob' } })
    expect(first(alice)).toEqual({
      title: 'bob public',
      status: 'published',
      author: { name: 'bob' },
    })
    expect(alice.errors).toEqual([])
    // Drafts never reach the anonymous stream, not even bob's before it was published.
    expect(summary(anonymous)).toEqual([
      ['CREATE', 'bob public'],
      ['UPDATE', 'bob now public'],
      ['DELETE', 'bob now public'],
    ])
    expect(JSON.stringify(anonymous.values)).not.toMatch(/draft|"secret"/)
    expect(anonymous.errors).toEqual([])
  })

  it('applies the filter and the single-record argument', async () => {
    const { tokens, posts } = blog
    const target = posts[3] as string
    const client = connect(tokens.alice)
    const viewed = await subscribe(
      client,
      `subscription { postsChanges(filter: "views >= 1000") { record { title } } }`,
    )
    const one = await subscribe(
      client,
      `subscription ($id: ID!) { postsChanges(id: $id) { record { id title } } }`,
      {
        id: target,
      },
    )
    const update = `mutation ($id: ID!, $input: PostUpdateInput!) { updatePosts(id: $id, input: $input) { id } }`
    await write(tokens.alice, update, { id: posts[2], input: { views: 5 } })
    await write(tokens.alice, update, { id: target, input: { title: 'targeted' } })
    await write(tokens.alice, update, { id: posts[4], input: { views: 1000, title: 'popular' } })
    await until(() => viewed.values.length >= 1 && one.values.length >= 1, 'both subscriptions')
    await new Promise((r) => setTimeout(r, 100))
    expect(viewed.values).toEqual([{ postsChanges: { record: { title: 'popular' } } }])
    expect(one.values).toEqual([{ postsChanges: { record: { id: target, title: 'targeted' } } }])
  })

  it('refuses anonymous subscriptions no rule lets anyone see, and bad tokens; applies the limits', async () => {
    // Anyone may view one notice by id, nobody but superusers may list them: an anonymous
    // stream of the whole collection would reveal a list, one of a single record may run.
    await createCollection(blog.t, {
      name: 'notices',
      fields: [{ name: 'text', type: 'text' }],
      rules: { list: null, view: '', create: null, update: null, delete: null },
    })
    const notice = await createRecord(blog.t, 'notices', { text: 'hello' })
    const whole = await subscribe(connect(null), `subscription { noticesChanges { action } }`)
    await until(() => whole.errors.length > 0, 'the anonymous refusal')
    expect(JSON.stringify(whole.errors)).toContain('ER_AUTH_REQUIRED')
    const one = await subscribe(
      connect(null),
      `subscription ($id: ID!) { noticesChanges(id: $id) { action record { text } } }`,
      { id: notice.id },
    )
    await blog.t.call({
      method: 'PATCH',
      url: `/api/collections/notices/records/${notice.id}`,
      payload: { text: 'changed' },
    })
    await until(() => one.values.length > 0 || one.errors.length > 0, 'the notice change')
    expect(one.errors).toEqual([])
    expect(one.values).toEqual([
      { noticesChanges: { action: 'UPDATE', record: { text: 'changed' } } },
    ])
    // Visible to their owner only: not in an anonymous caller's schema at all.
    await createCollection(blog.t, {
      name: 'diaries',
      fields: [{ name: 'owner', type: 'relation', collection: 'users' }],
      rules: { list: OWNER_ONLY, view: OWNER_ONLY, create: null, update: null, delete: null },
    })
    const diaries = await subscribe(connect(null), `subscription { diariesChanges { action } }`)
    await until(() => diaries.errors.length > 0, 'the anonymous refusal')
    expect(JSON.stringify(diaries.errors)).toContain('ER_GRAPHQL_INVALID')
    let closedWith = 0
    const bad = connect('not-a-token', { onClose: (code) => (closedWith = code) })
    bad.subscribe({ query: '{ __typename }' }, { next() {}, error() {}, complete() {} })
    await until(() => closedWith !== 0, 'the refused connection to close')
    expect(closedWith).toBe(4403)
    const received: unknown[] = []
    connect(blog.tokens.alice).subscribe(
      { query: `subscription { postsChanges(filter: "nope = 1") { action } }` },
      { next: (v) => received.push(v), error: (e) => received.push(e), complete() {} },
    )
    await until(() => received.length > 0, 'the filter error')
    expect(JSON.stringify(received)).toContain('ER_FILTER_UNKNOWN_FIELD')
  })

  it('runs only subscriptions over WebSocket', async () => {
    const received: unknown[] = []
    connect(blog.tokens.alice).subscribe(
      { query: '{ posts { totalItems } }' },
      { next: (v) => received.push(v), error: (e) => received.push(e), complete() {} },
    )
    await until(() => received.length > 0, 'the refusal')
    expect(JSON.stringify(received)).toContain('ER_GRAPHQL_INVALID')
    expect(JSON.stringify(received)).toContain('POST /graphql')
  })

  it('ends a subscription when its session is revoked', async () => {
    const signIn = dataOf(
      await gql(
        blog.t,
        `mutation { authWithPasswordUsers(identity: "bob@example.com", password: "bob password") { token } }`,
        undefined,
        null,
      ),
    ).authWithPasswordUsers as { token: string }
    const stream = await subscribe(
      connect(signIn.token),
      `subscription { postsChanges { action } }`,
    )
    const res = await blog.t.call({
      method: 'DELETE',
      url: '/api/collections/users/auth/sessions',
      headers: { authorization: `Bearer ${signIn.token}` },
      anonymous: true,
    })
    expect(res.statusCode, res.body).toBeLessThan(300)
    await until(() => stream.errors.length > 0 || stream.completed, 'the stream to end')
    expect(JSON.stringify(stream.errors)).toContain('ER_AUTH_TOKEN_INVALID')
  })
})

describe('GraphQL WebSocket on shutdown', () => {
  it('closes open connections with 1001 so the server can stop', async () => {
    const blog = await createBlog('sqlite')
    const base = await blog.t.app.listen({ host: '127.0.0.1', port: 0 })
    let closedWith = 0
    const client = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${blog.tokens.alice}` },
      on: { closed: (event) => (closedWith = (event as { code: number }).code) },
      onNonLazyError: () => {},
    })
    client.subscribe(
      { query: 'subscription { postsChanges { action } }' },
      { next() {}, error() {}, complete() {} },
    )
    for (let i = 0; i < 200 && (blog.t.engine.realtime?.hub.size ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(blog.t.engine.realtime?.hub.size).toBe(1)
    await blog.t.close()
    for (let i = 0; i < 200 && closedWith === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(closedWith).toBe(1001)
    await client.dispose()
  })
})
