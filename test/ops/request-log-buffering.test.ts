/**
 * `serve`'s default log destination writes standard output in batches (not one system call per
 * request line), yet a line is never held long: a quiet server's line appears within about a
 * second, and the lines still buffered when the process is stopped are written before it exits.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const requestLines = (text: string, marker: string) =>
  text.split('\n').filter((line) => line.includes('"msg":"request"') && line.includes(marker))

it('a quiet server logs its request within seconds, and a stopped one loses no buffered line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-log-buffer-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const server: ServerProcess = await startServerProcess(['--dir', dir], { ER_LOG_LEVEL: 'info' })
  cleanups.push(() => server.stop('SIGKILL'))

  const alone = await fetch(`${server.url}/healthz?alone`)
  expect(alone.status).toBe(200)
  const started = Date.now()
  while (requestLines(server.output(), '"path":"/healthz"').length === 0) {
    if (Date.now() - started > 10_000) throw new Error(`no request line:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }

  // A burst of short lines stays below the batch size; stopping the process writes them out.
  const burst = 30
  for (let i = 0; i < burst; i++) {
    expect((await fetch(`${server.url}/api/collections/nope_${i}/records`)).status).toBe(404)
  }
  await server.stop('SIGTERM')
  for (let i = 0; i < burst; i++) {
    expect(
      requestLines(server.output(), `"path":"/api/collections/nope_${i}/records"`),
    ).toHaveLength(1)
  }
})
