/**
 * A plain `engineroom serve` (no flag, as the installed bin runs) serves with the young-generation
 * cap, through one relaunch, and the PID the operator started still controls the server: SIGTERM
 * drains and exits 0, kill -9 takes the server down with it, NODE_OPTIONS keeps the operator's
 * own size without a relaunch.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js'

const servers: ServerProcess[] = []
const dirs: string[] = []
afterAll(async () => {
  for (const server of servers) await server.stop('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function serve(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'er-young-'))
  dirs.push(dir)
  // A plain `node … serve`, as the installed bin runs it.
  const server = await startServerProcess(['--dir', dir], { ER_TEST_PLAIN_NODE: '1', ...env })
  servers.push(server)
  const pid = server.child.pid as number
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
  const argv = (p: number | string) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')
  return { server, pid, children: children ? children.split(/\s+/) : [], argv }
}

async function gone(pid: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!existsSync(`/proc/${pid}`)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

describe('engineroom serve caps its young generation', () => {
  it('relaunches once with the flag; SIGTERM to the started PID drains and exits 0', async () => {
    const { server, pid, children, argv } = await serve()
    expect(argv(pid)).not.toContain('--max-semi-space-size=8')
    expect(children).toHaveLength(1)
    const serving = children[0] as string
    expect(argv(serving)).toContain('--max-semi-space-size=8')
    // The heap of the process that answers: its new space stays within 2 × 8 MB under load.
    for (let i = 0; i < 200; i++) await (await fetch(`${server.url}/healthz`)).arrayBuffer()
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    const newSpace = Number(
      /nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/.exec(metrics)?.[1],
    )
    expect(newSpace).toBeGreaterThan(0)
    expect(newSpace).toBeLessThanOrEqual(16 * 1024 * 1024)
    const exit = new Promise<number | null>((done) =>
      server.child.once('exit', (code) => done(code)),
    )
    server.child.kill('SIGTERM')
    expect(await exit).toBe(0)
    expect(await gone(serving)).toBe(true)
  }, 120_000)

  it('kill -9 of the started PID takes the server down too (no orphan holding the port)', async () => {
    const { server, children } = await serve()
    const serving = children[0] as string
    await server.stop('SIGKILL')
    expect(await gone(serving)).toBe(true)
    const refused = await fetch(`${server.url}/healthz`).then(
      () => false,
      () => true,
    )
    expect(refused).toBe(true)
  }, 120_000)

  it("keeps the operator's size from NODE_OPTIONS and serves without a relaunch", async () => {
    const { server, pid, children } = await serve({ NODE_OPTIONS: '--max-semi-space-size=4' })
    expect(children).toEqual([])
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toContain('--max-semi-space-size=4')
  }, 120_000)
})
