/**
 * A job outlives a kill -9 of its worker: a real worker process takes the job and is killed
 * while it runs; once its lease (BullMQ: its lock) runs out, a worker here runs the job again.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import { createEngine, type Engine } from '../../src/services/create-engine.js'
import { createPostgresSchema } from '../helpers/dialects.js'
import { queueVariants, redisUrl, waitFor } from '../helpers/jobs-engine.js'
import { testPasswords } from '../helpers/test-engine.js'

const variants = await queueVariants()
const WORKER = resolve(import.meta.dirname, '../helpers/job-worker-process.ts')

describe.each(variants)('a job on %s', (variant) => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('runs again after its worker is killed with SIGKILL mid-run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-crash-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let target = join(dir, 'data.db')
    if (variant === 'postgres') {
      const schema = await createPostgresSchema()
      cleanups.push(() => schema.drop())
      target = schema.url
    }
    const prefix = `er-test-${randomBytes(4).toString('hex')}:`
    const env = {
      ...process.env,
      ...(variant === 'bullmq' ? { REDIS_URL: redisUrl, ER_JOBS_PREFIX: prefix } : {}),
    }
    if (variant !== 'bullmq') delete env.REDIS_URL
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, target, join(dir, 'm1')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    cleanups.push(() => void child.kill('SIGKILL'))
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await waitFor(() => output.includes('ready'), 30_000, 'the worker process')

    const store =
      variant === 'postgres'
        ? await openPostgresStore({ url: target, maxConnections: 2 })
        : await openSqliteStore({ file: target })
    const queue =
      variant === 'bullmq'
        ? (await import('../../src/adapters/queue/bullmq/bullmq-queue.js')).createBullmqQueue({
            url: redisUrl,
            prefix,
            store,
            leaseMs: 500,
          })
        : undefined
    const engine: Engine = await createEngine({
      store,
      migrationsDir: join(dir, 'm2'),
      passwords: testPasswords,
      jobs: { pollMs: 50, leaseMs: 500 },
      ...(queue ? { queue } : {}),
    })
    cleanups.push(async () => {
      await engine.close()
      if (variant === 'bullmq') {
        const { Redis } = await import('ioredis')
        const redis = new Redis(redisUrl)
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys)
        await redis.quit()
      }
    })
    const { id } = await engine.jobs.enqueue('stuck', { n: 1 }, { attempts: 3 })
    await waitFor(() => output.includes(`running ${id} attempt 1`), 20_000, 'the first attempt')
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))

    const ran: number[] = []
    engine.jobs.define('stuck', (_payload, job) => void ran.push(job.attempt))
    engine.jobs.startWorkers(1)
    await waitFor(async () => (await engine.jobs.queue.get(id))?.state === 'done', 30_000, 'done')
    expect(ran).toHaveLength(1)
    expect(ran[0]).toBeGreaterThanOrEqual(2)
  })
})
