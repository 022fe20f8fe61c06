/**
 * A real nginx for tests, running deploy/nginx/engineroom.conf with its upstream servers and
 * listen address replaced (the shipped file names compose's hosts `engine1:8090`…, which do not
 * resolve here). Everything else in the file is used as shipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const NGINX_CONF = resolve('deploy/nginx/engineroom.conf')

const UPSTREAM_SERVER = /^(\s*)server\s+engine\d+:8090\b([^;]*);\s*$/gm
const LISTEN = /^(\s*)listen\s+80;\s*$/m

/** The nginx binary, or undefined when it is not installed (Debian puts it in /usr/sbin). */
export function nginxBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
    if (existsSync(candidate)) return candidate
  }
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' })
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined
}

/**
 * The shipped site config with `upstreams` (host:port each) in place of the compose nodes and
 * `listen` in place of port 80. Throws when the file no longer has the shape this relies on.
 */
export function templateSiteConfig(upstreams: string[], listen: string): string {
  const text = readFileSync(NGINX_CONF, 'utf8')
  const servers = [...text.matchAll(UPSTREAM_SERVER)]
  if (servers.length === 0) throw new Error(`${NGINX_CONF}: no "server engineN:8090" line`)
  if (!LISTEN.test(text)) throw new Error(`${NGINX_CONF}: no "listen 80;" line`)
  const first = servers[0] as RegExpMatchArray
  const indent = first[1] ?? '    '
  const options = first[2] ?? ''
  let placed = false
  const withUpstreams = text.replace(UPSTREAM_SERVER, () => {
    if (placed) return ''
    placed = true
    return upstreams.map((u) => `${indent}server ${u}${options};`).join('\n')
  })
  return withUpstreams.replace(LISTEN, (_line, pad: string) => `${pad}listen ${listen};`)
}

/** A main nginx.conf in `dir` that includes the site config, with every path inside `dir`. */
export function writeNginxConf(dir: string, site: string): string {
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) {
    mkdirSync(join(dir, sub), { recursive: true })
  }
  writeFileSync(join(dir, 'engineroom.conf'), site)
  const conf = join(dir, 'nginx.conf')
  writeFileSync(
    conf,
    [
      // As root, nginx's workers would switch to `nobody`, who cannot read this private dir.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'logs', 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      // Which node served each request, for tests that check the balancing.
      "  log_format upstream '$upstream_addr $status $request_method $request_uri';",
      `  access_log ${join(dir, 'logs', 'access.log')} upstream;`,
      `  client_body_temp_path ${join(dir, 'client_body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
      `  scgi_temp_path ${join(dir, 'scgi')};`,
      `  include ${join(dir, 'engineroom.conf')};`,
      '}',
      '',
    ].join('\n'),
  )
  return conf
}

/** `nginx -t` on a main config: exit status and what nginx printed. */
export function testNginxConf(binary: string, dir: string, conf: string) {
  const result = spawnSync(binary, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

export interface NginxProcess {
  url: string
  dir: string
  child: ChildProcess
  errorLog(): string
  stop(): Promise<void>
}

/** Starts nginx in the foreground on `listenPort` in front of `upstreams`; resolves once it answers. */
export async function startNginx(
  binary: string,
  upstreams: string[],
  listenPort: number,
): Promise<NginxProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'er-nginx-'))
  const conf = writeNginxConf(dir, templateSiteConfig(upstreams, `127.0.0.1:${listenPort}`))
  const child = spawn(binary, ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const url = `http://127.0.0.1:${listenPort}`
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'logs', 'error.log'), 'utf8')
    } catch {
      return ''
    }
  }
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}${errorLog()}`)
    try {
      await fetch(`${url}/healthz`)
      break
    } catch {
      if (i > 100) throw new Error(`nginx did not answer in 10 s: ${output}${errorLog()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  return {
    url,
    dir,
    child,
    errorLog,
    async stop() {
      // SIGQUIT is nginx's graceful stop; its workers follow the master.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** nginx is required (a skip is a failure) when ER_REQUIRE_NGINX=1, as in .ci/run. */
export const nginxRequired = process.env.ER_REQUIRE_NGINX === '1'
