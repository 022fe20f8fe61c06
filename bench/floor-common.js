/**
 * What the two raw floors (`raw-floor.js` on better-sqlite3, `pg-floor.js` on `pg`) share: the
 * engine's id form, the list filter they understand, the post and create-body schemas, and the
 * constant-time bearer-token check. Kept in one place so both floors answer the same shapes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

/** The one filter the benchmark sends, with its two values captured. */
export const FILTER = /^status = "(draft|published)" && views > (\d+(?:\.\d+)?)$/

/** A 20-character time-sortable id, the same form as the engine's. */
export function newId() {
  let t = Date.now()
  let time = ''
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  let rest = ''
  for (const byte of randomBytes(10)) rest += ALPHABET[byte & 31]
  return time + rest
}

export const nullable = (type) => ({ type: [type, 'null'] })

export const postSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    created: { type: 'string' },
    updated: { type: 'string' },
    title: nullable('string'),
    status: nullable('string'),
    views: nullable('number'),
    author: nullable('string'),
    writer: nullable('string'),
  },
}

export const createBody = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    status: { type: 'string', enum: ['draft', 'published'] },
    views: { type: 'integer', minimum: 0 },
    author: { type: 'string' },
  },
}

/** Answers 401 to any request without exactly `Authorization: Bearer <token>`. */
export function requireBearer(app, token) {
  const expected = Buffer.from(`Bearer ${token}`)
  app.addHook('onRequest', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply.code(401).send({ message: 'unauthorized' })
    }
  })
}
