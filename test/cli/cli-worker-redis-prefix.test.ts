/**
 * `engineroom worker` beside `serve` on one Redis: both must use the deployment's prefix
 * (`er:<deployment id>:`, see `deploymentPrefix`) for the bus as for the queue. A worker on the
 * bare `er:` publishes its realtime events, schema and cache announcements where no serve node
 * of its deployment listens, and hears those of every other deployment on that Redis.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

const CLI = resolve('src/cli/main.ts')
const REDIS_URL = process.env.ER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('engineroom worker with Redis', () => {
  it("subscribes to its bus under the deployment's prefix, as serve does", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-worker-prefix-'))
    dirs.push(dir)
    const env = {
      ...process.env,
      DATABASE_URL: '',
      REDIS_URL,
    } as Record<string, string | undefined>
    delete env.ER_BUS_PREFIX
    delete env.ER_JOBS_PREFIX
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--dir', dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const redis = new Redis(REDIS_URL)
    let prefix: string | undefined
    try {
      let out = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (out += c.toString()))
      const deadline = Date.now() + 60_000
      while (!out.includes('worker running') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(out).toContain('(bullmq queue)')
      const db = new Database(join(dir, 'data.db'), { readonly: true })
      const row = db.prepare(`select value from _settings where key = 'deployment_id'`).get() as
        { value: string } | undefined
      db.close()
      expect(row?.value).toMatch(/^[\w-]+$/)
      prefix = `er:${row?.value}:`
      // The subscriptions are made as the engine starts; give them a moment after the banner.
      let channels: string[] = []
      for (let i = 0; i < 40 && channels.length === 0; i++) {
        channels = (await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]
        if (channels.length === 0) await new Promise((r) => setTimeout(r, 50))
      }
      expect(channels.length).toBeGreaterThan(0)
      // The queue too (it takes the same prefix since ER_JOBS_PREFIX defaults to it).
      const queueKeys = await redis.keys(`${prefix}bull:*`)
      expect(queueKeys.length).toBeGreaterThan(0)
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      // This run's queue keys (its deployment id is fresh: nobody else's are under it).
      const keys = prefix ? await redis.keys(`${prefix}*`) : []
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    }
  })
})
