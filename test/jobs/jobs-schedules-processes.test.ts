/**
 * A schedule made through the admin API, run by two node processes on one database with the
 * real clock (a tick every second): each tick queues one job and each job runs once, across
 * both processes. Were the claim not exclusive, each process would queue its own job per tick
 * and the jobs would outnumber the seconds that passed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openPostgresStore } from '../../src/adapters/store/postgres/postgres-store.js'
import { openSqliteStore } from '../../src/adapters/store/sqlite/sqlite-store.js'
import { cliContext } from '../../src/services/context.js'
import { createEngine } from '../../src/services/create-engine.js'
import { availableDialects, createPostgresSchema } from '../helpers/dialects.js'
import { waitFor } from '../helpers/jobs-engine.js'
import { testPasswords } from '../helpers/test-engine.js'

const NODE = resolve(import.meta.dirname, '../helpers/schedule-process.ts')
const dialects = await availableDialects()

describe.each(dialects)('a stored schedule across two processes on %s', (dialect) => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('runs each tick once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-schedules-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let target = join(dir, 'data.db')
    if (dialect === 'postgres') {
      const schema = await createPostgresSchema()
      cleanups.push(() => schema.drop())
      target = schema.url
    }
    let output = ''
    const children: ChildProcess[] = []
    for (const n of [1, 2]) {
      const env = { ...process.env }
      delete env.REDIS_URL
      const child = spawn(process.execPath, ['--import', 'tsx', NODE, target, join(dir, `m${n}`)], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      cleanups.push(() => void child.kill('SIGKILL'))
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
      children.push(child)
    }
    await waitFor(() => output.split('ready').length === 3, 60_000, 'both processes')

    const engine = await createEngine({
      store:
        dialect === 'postgres'
          ? await openPostgresStore({ url: target, maxConnections: 2 })
          : await openSqliteStore({ file: target }),
      migrationsDir: join(dir, 'm0'),
      passwords: testPasswords,
    })
    cleanups.push(() => engine.close())
    // This engine manages the schedule and reads the queue; it runs no worker and no checks.
    engine.jobs.define('beat', () => {})
    const ctx = cliContext(engine.registry.get('_superusers'))

    const started = Date.now()
    const schedule = await engine.jobs.storedSchedules.create(ctx, {
      name: 'every-second',
      cron: '* * * * * *',
      job: 'beat',
    })
    await waitFor(() => output.split('ran ').length > 4, 20_000, 'four runs')
    await engine.jobs.storedSchedules.update(ctx, schedule.id, { enabled: false })
    const elapsedSeconds = (Date.now() - started) / 1000
    // Jobs queued before the disable finish; nothing new comes after.
    await new Promise((r) => setTimeout(r, 1500))
    for (const child of children) child.kill('SIGKILL')

    const jobs = await engine.jobs.queue.list({ name: 'beat', limit: 500 })
    const runs = output.split('\n').filter((line) => line.startsWith('ran '))
    expect(jobs.length).toBeGreaterThanOrEqual(4)
    expect(jobs.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1)
    expect(jobs.every((job) => job.state === 'done')).toBe(true)
    // Each job ran once, in one process or the other.
    expect(runs.sort()).toEqual(jobs.map((job) => `ran ${job.id}`).sort())
  }, 90_000)
})
