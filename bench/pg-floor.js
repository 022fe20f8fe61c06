/**
 * Child process: the raw floor on PostgreSQL. A hand-written Fastify + `pg` server over the same
 * `posts` table the engine uses (same database, same rows and indexes), answering the benchmark's
 * requests with the same URLs and JSON shapes and doing only what they need: a pool of 10, named
 * prepared statements (parsed and planned once per connection), response schemas
 * (fast-json-stringify), a JSON-schema-validated insert, an HMAC-signed cursor and a constant-time
 * bearer-token check.
 */
import { createHmac, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'
import { serveChild } from './child-ipc.js'
import { FILTER, createBody, newId, nullable, postSchema, requireBearer } from './floor-common.js'

const pageSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: postSchema },
    page: { type: 'integer' },
    perPage: { type: 'integer' },
    nextCursor: nullable('string'),
  },
}
const listQuery = {
  type: 'object',
  properties: {
    filter: { type: 'string' },
    sort: { type: 'string', const: '-views' },
    perPage: { type: 'integer', minimum: 1, maximum: 500, default: 30 },
    page: { type: 'integer', minimum: 1, maximum: 100000, default: 1 },
  },
}

// Named statements: each connection of the pool parses and plans them once, on first use.
const VIEW = { name: 'floor-view', text: 'select * from posts where id = $1' }
// The engine's order (id as tiebreaker), one row more than the page to know whether another
// page exists.
const LIST = {
  name: 'floor-list',
  text: `select * from posts as r where r.status = $1 and r.views > $2
    order by r.views desc nulls last, r.id desc nulls last limit $3 offset $4`,
}
const INSERT = {
  name: 'floor-insert',
  text: `insert into posts (id, created, updated, title, status, views, author)
    values ($1, $2, $3, $4, $5, $6, $7)`,
}

serveChild(async ({ url, token }) => {
  const secret = randomBytes(32)
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  pool.on('error', () => {})
  const query = async (statement, values) => (await pool.query({ ...statement, values })).rows
  const sample = ["'published'", '100', '21', '0']
  const explain = `explain ${LIST.text.replace(/\$(\d)/g, (_, n) => sample[n - 1])}`
  const plan = (await pool.query(explain)).rows.map((row) => row['QUERY PLAN'].trim())

  const app = Fastify({ logger: false })
  requireBearer(app, token)

  app.get(
    '/api/collections/posts/records/:id',
    { schema: { response: { 200: postSchema } } },
    async (request, reply) => {
      const [row] = await query(VIEW, [request.params.id])
      return row ?? reply.code(404).send({ message: 'not found' })
    },
  )

  app.get(
    '/api/collections/posts/records',
    { schema: { querystring: listQuery, response: { 200: pageSchema } } },
    async (request, reply) => {
      const { filter = '', perPage, page } = request.query
      const match = FILTER.exec(filter)
      if (!match) return reply.code(400).send({ message: 'the floor serves only its one filter' })
      const rows = await query(LIST, [
        match[1],
        Number(match[2]),
        perPage + 1,
        (page - 1) * perPage,
      ])
      const more = rows.length > perPage
      if (more) rows.pop()
      let nextCursor = null
      if (more) {
        const last = rows[rows.length - 1]
        const payload = Buffer.from(JSON.stringify([filter, [last.views, last.id]])).toString(
          'base64url',
        )
        nextCursor = `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`
      }
      return { items: rows, page, perPage, nextCursor }
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
      await query(INSERT, [row.id, now, now, row.title, row.status, row.views, row.author])
      return reply.code(201).send(row)
    },
  )

  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 })
  return { port: app.server.address().port, info: { listPlan: plan } }
})
