/**
 * A node for the two-process schedule test: opens the store (SQLite file or PostgreSQL URL),
 * looks for due cron ticks every 100 ms, runs jobs with two workers, and prints `ran <job id>`
 * for each run of the `beat` job on stdout. The test stops it with SIGKILL.
 */
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import { createEngine } from '../../src/services/create-engine.js'
import { testPasswords } from './test-engine.js'

const [target, migrationsDir] = process.argv.slice(2) as [string, string]
const store = target.startsWith('postgres')
  ? await openPostgresStore({ url: target, maxConnections: 2 })
  : await openSqliteStore({ file: target })
const engine = await createEngine({
  store,
  migrationsDir,
  passwords: testPasswords,
  jobs: { pollMs: 50, scheduleCheckMs: 100 },
})
engine.jobs.define('beat', (_payload, job) => void console.log(`ran ${job.id}`))
engine.jobs.startWorkers(2)
console.log('ready')
