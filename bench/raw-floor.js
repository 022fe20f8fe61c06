/**
 * Child process: the raw floor. A hand-written Fastify + better-sqlite3 server over the same
 * table layout (a copy of the engine's file) that answers the benchmark's requests with
 * the same URLs and JSON shapes, doing only what those requests need: prepared statements,
 * response schemas (fast-json-stringify), a JSON-schema-validated insert, a signed cursor and a
 * static bearer-token check. It is the best any generic engine could do for these requests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { serveChild } from './child-ipc.js'
import { FILTER, createBody, newId, nullable, postSchema, requireBearer } from './floor-common.js'

const writerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    created: { type: 'string' },
    updated: { type: 'string' },
    name: nullable('string'),
  },
}
const expandedPostSchema = {
  type: 'object',
  properties: {
    ...postSchema.properties,
    expand: { type: 'object', properties: { writer: writerSchema } },
  },
}
const pageSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: expandedPostSchema },
    page: { type: 'integer' },
    perPage: { type: 'integer' },
    nextCursor: nullable('string'),
  },
}
const updateBody = { ...createBody, required: [], minProperties: 1 }
const listQuery = {
  type: 'object',
  properties: {
    filter: { type: 'string' },
    sort: { type: 'string', const: '-views' },
    perPage: { type: 'integer', minimum: 1, maximum: 500, default: 30 },
    page: { type: 'integer', minimum: 1, maximum: 100000, default: 1 },
    cursor: { type: 'string', maxLength: 1000 },
    expand: { type: 'string', const: 'writer' },
  },
}

serveChild(async ({ file, token, secret }) => {
  const db = new Database(file)
  // The engine's connection settings, so storage behaves the same under both servers.
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  db.pragma('temp_store = MEMORY')
  db.pragma('cache_size = -32000')

  const viewStmt = db.prepare('select * from posts where id = ?')
  // The same query the engine builds: the same order (id as tiebreaker, nulls smallest), one row
  // more than the page to know whether another page exists.
  const listSql = `select * from posts as r where r.status = ? and r.views > ?
    order by r.views desc nulls last, r.id desc nulls last limit ? offset ?`
  const listStmt = db.prepare(listSql)
  // The page after a cursor: a seek on (views, id) through the same index.
  // A row-value comparison, which SQLite turns into a range on the (status, views, id) index.
  const afterStmt = db.prepare(`select * from posts as r where r.status = ? and r.views > ?
    and (r.views, r.id) < (?, ?)
    order by r.views desc nulls last, r.id desc nulls last limit ?`)
  const writersStmt = db.prepare(
    'select id, created, updated, name from writers where id in (select value from json_each(?))',
  )
  const updateStmt = db.prepare(
    `update posts set updated = ?, title = coalesce(?, title), status = coalesce(?, status),
     views = coalesce(?, views), author = coalesce(?, author) where id = ?`,
  )
  const insertStmt = db.prepare(
    'insert into posts (id, created, updated, title, status, views, author) values (?, ?, ?, ?, ?, ?, ?)',
  )
  const plan = db
    .prepare(`explain query plan ${listSql}`)
    .all('published', 100, 21, 0)
    .map((row) => row.detail)

  const sign = (payload) => createHmac('sha256', secret).update(payload).digest('base64url')

  const app = Fastify({ logger: false })
  requireBearer(app, token)

  app.get(
    '/api/collections/posts/records/:id',
    { schema: { response: { 200: postSchema } } },
    async (request, reply) => {
      const row = viewStmt.get(request.params.id)
      return row ?? reply.code(404).send({ message: 'not found' })
    },
  )

  app.get(
    '/api/collections/posts/records',
    { schema: { querystring: listQuery, response: { 200: pageSchema } } },
    async (request, reply) => {
      const { filter = '', perPage, page, cursor, expand } = request.query
      const match = FILTER.exec(filter)
      if (!match) return reply.code(400).send({ message: 'the floor serves only its one filter' })
      let rows
      if (cursor !== undefined) {
        const [payload, signature] = cursor.split('.')
        const expected = Buffer.from(sign(payload ?? ''))
        const given = Buffer.from(signature ?? '')
        if (given.length !== expected.length || !timingSafeEqual(given, expected))
          return reply.code(400).send({ message: 'bad cursor' })
        const [forFilter, [views, id]] = JSON.parse(Buffer.from(payload, 'base64url').toString())
        if (forFilter !== filter) return reply.code(400).send({ message: 'bad cursor' })
        rows = afterStmt.all(match[1], Number(match[2]), views, id, perPage + 1)
      } else {
        rows = listStmt.all(match[1], Number(match[2]), perPage + 1, (page - 1) * perPage)
      }
      const more = rows.length > perPage
      if (more) rows.pop()
      if (expand === 'writer') {
        const ids = [...new Set(rows.map((row) => row.writer).filter((id) => id !== null))]
        const byId = new Map(writersStmt.all(JSON.stringify(ids)).map((w) => [w.id, w]))
        for (const row of rows) {
          const writer = byId.get(row.writer)
          row.expand = writer ? { writer } : {}
        }
      }
      let nextCursor = null
      if (more) {
        const last = rows[rows.length - 1]
        const payload = Buffer.from(JSON.stringify([filter, [last.views, last.id]])).toString(
          'base64url',
        )
        nextCursor = `${payload}.${sign(payload)}`
      }
      return { items: rows, page: cursor === undefined ? page : 1, perPage, nextCursor }
    },
  )

  app.patch(
    '/api/collections/posts/records/:id',
    { schema: { body: updateBody, response: { 200: postSchema } } },
    async (request, reply) => {
      const body = request.body
      const now = new Date().toISOString()
      const changed = updateStmt.run(
        now,
        body.title ?? null,
        body.status ?? null,
        body.views ?? null,
        body.author ?? null,
        request.params.id,
      )
      if (changed.changes === 0) return reply.code(404).send({ message: 'not found' })
      return viewStmt.get(request.params.id)
    },
  )

  app.post(
    '/api/collections/posts/records',
    { schema: { body: createBody, response: { 201: postSchema } } },
    async (request, reply) => {
      const body = request.body
      const now = new Date().toISOString()
      const row = {
        id: newId(),
        created: now,
        updated: now,
        title: body.title,
        status: body.status ?? null,
        views: body.views ?? null,
        author: body.author ?? null,
        writer: null,
      }
      insertStmt.run(row.id, now, now, row.title, row.status, row.views, row.author)
      return reply.code(201).send(row)
    },
  )

  await app.listen({ host: '127.0.0.1', port: 0 })
  return { port: app.server.address().port, info: { listPlan: plan } }
})
