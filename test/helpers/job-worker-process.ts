/**
 * A worker process for the kill -9 test: opens the store (SQLite file or PostgreSQL URL) and,
 * with REDIS_URL, the BullMQ queue, defines a `stuck` job that announces itself on stdout and
 * never ends, and runs one worker with a short lease. The test kills it with SIGKILL.
 */
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import { createEngine } from '../../src/services/create-engine.js'
import { testPasswords } from './test-engine.js'

const [target, migrationsDir] = process.argv.slice(2) as [string, string]
const leaseMs = 500
const store = target.startsWith('postgres')
  ? await openPostgresStore({ url: target, maxConnections: 2 })
  : await openSqliteStore({ file: target })
const queue = process.env.REDIS_URL
  ? (await import('../../src/adapters/queue/bullmq/bullmq-queue.js')).createBullmqQueue({
      url: process.env.REDIS_URL,
      prefix: process.env.ER_JOBS_PREFIX ?? 'er:',
      store,
      leaseMs,
    })
  : undefined
const engine = await createEngine({
  store,
  migrationsDir,
  passwords: testPasswords,
  jobs: { pollMs: 50, leaseMs },
  ...(queue ? { queue } : {}),
})
engine.jobs.define('stuck', async (_payload, job) => {
  console.log(`running ${job.id} attempt ${job.attempt}`)
  await new Promise(() => {})
})
engine.jobs.startWorkers(1)
console.log('ready')
