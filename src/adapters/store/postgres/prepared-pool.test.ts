/**
 * The pooled path of `preparingPool` (statements outside a transaction) runs in pg's callback
 * form and returns its connection itself: it must give every connection back whatever the
 * statement did, retire connections across a schema change, and survive connections that die.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresSchema, isPostgresAvailable } from '../../../../test/helpers/dialects.js'
import { startTcpProxy } from '../../../../test/helpers/tcp-proxy.js'
import { preparingPool, type PreparingPool } from './prepared-pool.js'

describe.runIf(await isPostgresAvailable())('preparingPool on PostgreSQL', () => {
  let schema: Awaited<ReturnType<typeof createPostgresSchema>>
  let raw: pg.Pool
  let pool: PreparingPool
  let admin: pg.Client

  beforeAll(async () => {
    schema = await createPostgresSchema()
    // Its own application name: only this pool's connections are ended below.
    const url = new URL(schema.url)
    url.searchParams.set('application_name', schema.schema)
    raw = new pg.Pool({ connectionString: url.toString(), max: 2 })
    raw.on('error', () => {})
    raw.on('connect', (client) => client.on('error', () => {}))
    pool = preparingPool(raw)
    admin = new pg.Client({ connectionString: schema.url })
    await admin.connect()
    await pool.query('create table notes (id text primary key, body text)', [])
    await pool.query('insert into notes values ($1, $2)', ['a', 'first'])
  })
  /** Waits until this pool's `pg_sleep` runs on the server. */
  async function waitForSleep() {
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.query(
        "select count(*)::int as n from pg_stat_activity where application_name = $1 and query like 'select pg_sleep%'",
        [schema.schema],
      )
      if ((rows[0] as { n: number }).n > 0) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error('the sleep never started')
  }

  afterAll(async () => {
    await admin?.end()
    await pool?.end()
    await schema?.drop()
  })

  it('gives every connection back after failing statements, and the failure to the caller', async () => {
    // Ten times the pool's size: one connection kept would leave the good read below waiting.
    const failures = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        pool.query('insert into notes values ($1, $2)', ['a', `duplicate ${i}`]),
      ),
    )
    for (const failure of failures) {
      expect(failure.status).toBe('rejected')
      expect((failure as PromiseRejectedResult).reason).toMatchObject({ code: '23505' })
    }
    const { rows } = await pool.query('select body from notes where id = $1', ['a'])
    expect(rows).toEqual([{ body: 'first' }])
    expect(raw.totalCount).toBeLessThanOrEqual(2)
    expect(raw.idleCount).toBe(raw.totalCount)
  })

  it('reads the new shape after a schema change made through it', async () => {
    // Both connections prepare the read first.
    await Promise.all([1, 2].map(() => pool.query('select * from notes where id = $1', ['a'])))
    await pool.query('alter table notes add column pinned boolean', [])
    const answers = await Promise.all(
      [1, 2, 3].map(() => pool.query('select * from notes where id = $1', ['a'])),
    )
    for (const { rows } of answers) expect(rows).toEqual([{ id: 'a', body: 'first', pinned: null }])
  })

  it('recovers when its connections are killed, idle or in the middle of a statement', async () => {
    const running = pool.query('select pg_sleep($1::float8)', [5]).then(
      () => null,
      (error: unknown) => error,
    )
    await waitForSleep()
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
      [schema.schema],
    )
    expect(await running).toMatchObject({ code: '57P01' })
    // The other connection died idle: a read taking it runs again on a fresh one.
    const { rows } = await pool.query('select body from notes where id = $1', ['a'], {
      repeatable: true,
    })
    expect(rows).toEqual([{ body: 'first' }])
    expect(raw.totalCount).toBeLessThanOrEqual(2)
  })

  it('runs a read again when its reply is lost, and never a write that may have committed', async () => {
    // Its own pool through a proxy that can lose the server's answer after the work is done.
    const target = new URL(schema.url)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const url = new URL(schema.url)
    url.host = `127.0.0.1:${proxy.port}`
    const through = new pg.Pool({ connectionString: url.toString(), max: 1 })
    through.on('error', () => {})
    through.on('connect', (client) => client.on('error', () => {}))
    const lossy = preparingPool(through)
    try {
      await lossy.query('select 1', [])
      proxy.dropNextReply()
      const { rows } = await lossy.query('select body from notes where id = $1', ['a'], {
        repeatable: true,
      })
      expect(rows).toEqual([{ body: 'first' }])

      // A write that reads rows back, marked repeatable by mistake: it committed, its answer
      // was lost, and it fails rather than inserting a second time.
      proxy.dropNextReply()
      const lost = await lossy
        .query(
          'insert into notes (id, body) values (md5(random()::text), $1) returning id',
          ['once'],
          { repeatable: true },
        )
        .then(
          () => null,
          (error: unknown) => error,
        )
      expect(lost).toBeInstanceOf(Error)
      // The pool goes on with a fresh connection, and finds the row written once.
      const { rows: kept } = await lossy.query(
        'select count(*)::int as n from notes where body = $1',
        ['once'],
      )
      expect(kept).toEqual([{ n: 1 }])
    } finally {
      await lossy.end()
      await proxy.close()
    }
  })

  it('closes a connection that died inside a transaction instead of pooling it again', async () => {
    // The transaction path: Kysely takes a connection, runs its statements, then releases it.
    const held = await pool.connect()
    await held.query('begin', [])
    const running = held.query('select pg_sleep($1::float8)', [5]).then(
      () => null,
      (error: unknown) => error,
    )
    await waitForSleep()
    await admin.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
      [schema.schema],
    )
    expect(await running).toMatchObject({ code: '57P01' })
    held.release()
    for (let i = 0; i < 3; i++) {
      const next = await pool.connect()
      const { rows } = await next.query('select body from notes where id = $1', ['a'])
      next.release()
      expect(rows).toEqual([{ body: 'first' }])
    }
  })
})
