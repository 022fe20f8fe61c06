/**
 * `engineroom serve` as a real process (from source through tsx), for tests that need several
 * servers, a crash or `--workers`.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { YOUNG_GENERATION_FLAG } from '../../src/young-generation.js'

const CLI = resolve('src/cli/main.ts')

export interface ServerProcess {
  url: string
  child: ChildProcess
  output(): string
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Runs a one-off CLI command (superuser create …) and returns its exit code and output. */
export function runCli(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ...env },
    timeout: 60_000,
  })
  return { code: result.status, out: result.stdout, err: result.stderr }
}

/**
 * `runCli` without blocking this process: for commands that talk to a server the test itself
 * runs (an S3-compatible one on loopback), which a synchronous spawn would starve.
 */
export function runCliAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', ...env }, timeout: 60_000 },
      (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    )
  })
}

/** Starts `serve` (or `dev`) and resolves once it prints its URL (or rejects with its output). */
export async function startServerProcess(
  args: string[],
  env: Record<string, string>,
  port?: number,
  command: 'serve' | 'dev' = 'serve',
): Promise<ServerProcess> {
  const listen = port ?? (await freePort())
  const young = env.ER_TEST_PLAIN_NODE ? [] : [YOUNG_GENERATION_FLAG]
  const child = spawn(
    process.execPath,
    // With the young-generation cap, as `npm start` runs it: `serve` then needs no relaunch,
    // and the PID a test signals is the server's (test/cli/serve-young-generation.test.ts
    // covers the relaunch of a plain `serve`).
    [...young, '--import', 'tsx', CLI, command, '--http', `127.0.0.1:${listen}`, ...args],
    {
      env: { ...process.env, DATABASE_URL: '', ER_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let text = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start in 60 s:\n${text}`)), 60_000)
    const check = () => {
      if (text.includes('Engine Room is serving at')) {
        clearTimeout(timer)
        done()
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`serve exited with ${code}:\n${text}`))
    })
  })
  return {
    url: `http://127.0.0.1:${listen}`,
    child,
    output: () => text,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

/** Logs a superuser in on a running server and returns the token. */
export async function loginSuperuser(url: string, email: string, password: string) {
  const res = await fetch(`${url}/api/collections/_superusers/auth/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identity: email, password }),
  })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}
