import { spawn } from 'node:child_process'
import { EngineError } from '../../../core/errors/index.js'

/**
 * A libpq connection for `pg_dump` / `pg_restore`: the URL without its password (a command
 * line is visible to every user of the machine in `ps`), the password in `PGPASSWORD`.
 */
export function libpqConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url)
  const password = decodeURIComponent(parsed.password)
  parsed.password = ''
  // libpq reads `+` in a URI literally: spaces (as in `options=-c search_path=x`) must be %20.
  parsed.search = [...parsed.searchParams]
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&')
  return {
    dbname: parsed.toString(),
    env: password ? { ...process.env, PGPASSWORD: password } : { ...process.env },
  }
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** The schema a URL's connections use: the first of `-c search_path=…` in `options`, else public. */
export function schemaOfUrl(url: string): string {
  const options = new URL(url).searchParams.get('options') ?? ''
  return /search_path=([^\s,]+)/.exec(options)?.[1]?.replaceAll('"', '') ?? 'public'
}

/**
 * Runs a PostgreSQL client tool (no shell) and resolves when it exits 0; otherwise rejects with
 * the last lines it wrote to stderr. A missing tool is `ER_BACKUP_UNAVAILABLE`.
 */
export function runTool(
  tool: 'pg_dump' | 'pg_restore',
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text: string) => {
      // Only the tail matters, and a tool that prints without end must not fill memory.
      stderr = (stderr + text).slice(-4000)
    })
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new EngineError(
              'ER_BACKUP_UNAVAILABLE',
              `${tool} is not on the PATH. Install the PostgreSQL client tools of the server's major version (Debian: apt-get install postgresql-client).`,
            )
          : error,
      )
    })
    child.once('close', (code) => {
      if (code === 0) resolve()
      else
        reject(
          new Error(
            `${tool} failed (exit code ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        )
    })
  })
}
