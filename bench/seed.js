/**
 * Builds the benchmark data set: a fresh Engine Room SQLite file with one superuser and a
 * `posts` collection (with a composite index on status, views), seeded through the engine's own
 * store in batched transactions. The raw floor gets a byte copy of the same file, so both
 * servers read the same table layout, rows and indexes.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { openSqliteStore } from '../dist/adapters/store/sqlite/sqlite-store.js'
import { newId } from '../dist/core/ids.js'
import { SUPERUSERS } from '../dist/core/schema/system-collections.js'
import { createArgon2Hasher } from '../dist/services/auth/password-hasher.js'
import { cliContext } from '../dist/services/context.js'
import { createEngine } from '../dist/services/create-engine.js'

export const SUPERUSER = { identity: 'bench@example.com', password: 'bench-password-0123456789' }

/** A signed-in user whose id is one of the seeded `author` values (about 0.7% of the posts). */
export const BENCH_USER = {
  id: 'author-5',
  identity: 'reader@example.com',
  password: 'reader-password-0123456789',
}

/** Owner-only listing; superusers (the other scenarios) bypass it, so their numbers do not move. */
export const OWNER_RULE = 'author = @request.auth.id'

/** The target of the posts' one relation (`writer`), for the expand and GraphQL scenarios. */
export const WRITERS_COLLECTION = {
  name: 'writers',
  fields: [{ name: 'name', type: 'text', required: true }],
  rules: { list: null, view: null, create: null, update: null, delete: null },
}
export const WRITER_COUNT = 97

export const POSTS_COLLECTION = {
  name: 'posts',
  fields: [
    { name: 'title', type: 'text', required: true, max: 200 },
    { name: 'status', type: 'select', values: ['draft', 'published'] },
    { name: 'views', type: 'number', min: 0, integer: true },
    { name: 'author', type: 'text' },
    { name: 'writer', type: 'relation', collection: 'writers', onDelete: 'setNull' },
  ],
  indexes: [{ fields: ['status', 'views'] }, { fields: ['author', 'created'] }],
  rules: { list: OWNER_RULE, view: null, create: null, update: null, delete: null },
}

const BATCH = 5000

/**
 * A fresh engine database with the bench superuser, the `posts` collection and a `users` auth
 * collection holding BENCH_USER. Returns the open engine and the posts definition. The store is
 * a SQLite file by default; `bench/postgres.js` passes a PostgreSQL store.
 */
export async function createBenchSchema({ file, migrationsDir, store: given }) {
  const store = given ?? (await openSqliteStore({ file }))
  // Cheap argon2 parameters: only the one login per server verifies this hash.
  const passwords = createArgon2Hasher({ memoryCost: 1024, timeCost: 1 })
  const engine = await createEngine({ store, migrationsDir, passwords })
  const admin = cliContext(SUPERUSERS)
  await engine.records.create(admin, '_superusers', {
    email: SUPERUSER.identity,
    password: SUPERUSER.password,
  })
  const writers = await engine.schema.createCollection(admin, WRITERS_COLLECTION)
  await engine.store.transaction(async (tx) => {
    const at = new Date().toISOString()
    for (let i = 0; i < WRITER_COUNT; i++) {
      const row = { id: `writer-${i}`, created: at, updated: at, name: `Writer ${i}` }
      await tx.insertRecord(writers, row)
    }
  })
  const posts = await engine.schema.createCollection(admin, POSTS_COLLECTION)
  await engine.schema.createCollection(admin, { name: 'users', type: 'auth', fields: [] })
  await engine.records.create(admin, 'users', {
    id: BENCH_USER.id,
    email: BENCH_USER.identity,
    password: BENCH_USER.password,
  })
  return { engine, posts }
}

/** A deterministic pseudo-random generator, so every run seeds the same distribution. */
export function mulberry32(seed) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Creates `<dir>/engine/data.db` with `count` posts and copies it to `<dir>/floor/data.db`.
 * Returns the two files and a sample of seeded ids for the get-by-id scenario.
 */
export async function seed({ dir, count, sampleSize = 1000, log = console.log }) {
  const engineFile = join(dir, 'engine', 'data.db')
  const floorFile = join(dir, 'floor', 'data.db')
  const { engine, posts } = await createBenchSchema({
    file: engineFile,
    migrationsDir: join(dir, 'migrations'),
  })

  const random = mulberry32(42)
  const sample = []
  const every = Math.max(1, Math.floor(count / sampleSize))
  const started = performance.now()
  const base = Date.now() - count * 1000
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done)
    await engine.store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const k = done + i
        const at = new Date(base + k * 1000).toISOString()
        const id = newId(base + k * 1000)
        if (k % every === 0 && sample.length < sampleSize) sample.push(id)
        await tx.insertRecord(posts, {
          id,
          created: at,
          updated: at,
          title: `Seeded post number ${k}`,
          status: random() < 0.5 ? 'published' : 'draft',
          // Long-tailed, like real view counts: about half the posts have more than 100.
          views: Math.floor(random() ** 3 * 1000),
          author: k % 3 === 0 ? null : `author-${k % 97}`,
          writer: `writer-${k % WRITER_COUNT}`,
        })
      }
    })
    done += n
    const seconds = (performance.now() - started) / 1000
    log(
      `  seeded ${done.toLocaleString('en')} / ${count.toLocaleString('en')} (${seconds.toFixed(1)} s)`,
    )
  }
  // Closing the last connection checkpoints the WAL into the main file, so a plain copy is whole.
  await engine.close()
  mkdirSync(join(dir, 'floor'), { recursive: true })
  copyFileSync(engineFile, floorFile)
  return {
    engineFile,
    floorFile,
    sampleIds: sample,
    seedSeconds: (performance.now() - started) / 1000,
  }
}
