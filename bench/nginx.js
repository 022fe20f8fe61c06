/**
 * nginx from Debian in front of `serve` processes on loopback: the shipped
 * deploy/nginx/engineroom.conf with its upstream servers and listen address replaced (the file
 * names compose's hosts `engine1:8090`…, which do not resolve here), everything else as
 * shipped, inside a main config whose paths are all in a temp directory. One module for the
 * bench's cluster scenario and the tests (test/helpers/nginx.ts re-exports it); plain JS so the
 * bench needs no test code, typed by nginx.d.ts beside it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const NGINX_CONF = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'deploy',
  'nginx',
  'engineroom.conf',
)
const UPSTREAM_SERVER = /^(\s*)server\s+engine\d+:8090\b([^;]*);\s*$/gm
const LISTEN = /^(\s*)listen\s+80;\s*$/m
const TEMP_KINDS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
const running = new Set()

// The exit path of a bench or test process (an error, Ctrl-C): SIGTERM is nginx's fast stop,
// and its master stops its workers (a SIGKILLed master would leave them serving).
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGTERM')
})

/** The nginx binary (Debian puts it in /usr/sbin), or undefined when it is not installed. */
export function nginxBinary() {
  const known = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((path) =>
    existsSync(path),
  )
  if (known) return known
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' })
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined
}

/**
 * The shipped site config with `upstreams` (host:port each) in place of the compose nodes and
 * `listen` in place of port 80. Throws when the file no longer has the shape this relies on.
 */
export function templateSiteConfig(upstreams, listen) {
  const text = readFileSync(NGINX_CONF, 'utf8')
  const first = [...text.matchAll(UPSTREAM_SERVER)][0]
  if (!first) throw new Error(`${NGINX_CONF}: no "server engineN:8090" line`)
  if (!LISTEN.test(text)) throw new Error(`${NGINX_CONF}: no "listen 80;" line`)
  let placed = false
  return text
    .replace(UPSTREAM_SERVER, () => {
      if (placed) return ''
      placed = true
      return upstreams.map((u) => `${first[1]}server ${u}${first[2]};`).join('\n')
    })
    .replace(LISTEN, (_line, pad) => `${pad}listen ${listen};`)
}

/**
 * A main nginx.conf in `dir` that includes `site`, with every path inside `dir`. The access log
 * is off unless `accessLog`: then `<dir>/logs/access.log` names the upstream of each request
 * (for tests of the balancing); the bench leaves it off, as the nodes log nothing per request.
 */
export function writeNginxConf(dir, site, { accessLog = false } = {}) {
  for (const sub of [...TEMP_KINDS, 'logs']) mkdirSync(join(dir, sub), { recursive: true })
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
      ...(accessLog
        ? [
            "  log_format upstream '$upstream_addr $status $request_method $request_uri';",
            `  access_log ${join(dir, 'logs', 'access.log')} upstream;`,
          ]
        : ['  access_log off;']),
      ...TEMP_KINDS.map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
      `  include ${join(dir, 'engineroom.conf')};`,
      '}',
      '',
    ].join('\n'),
  )
  return conf
}

/** `nginx -t` on a main config: exit status and what nginx printed. */
export function testNginxConf(binary, dir, conf) {
  const result = spawnSync(binary, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

/**
 * Starts nginx in the foreground on 127.0.0.1:`port` in front of `upstreams` and resolves once
 * it answers `/healthz`. `stop()` is graceful (SIGQUIT: the requests in flight finish), forced
 * after 5 s, and removes its directory.
 *
 * @example
 *   const nginx = await startNginx({ binary: nginxBinary(), upstreams: ['127.0.0.1:8091'], port: 8080 })
 *   await fetch(`${nginx.url}/api/health`)
 *   await nginx.stop()
 */
export async function startNginx({ binary, upstreams, port, accessLog = false }) {
  const dir = mkdtempSync(join(tmpdir(), 'er-nginx-'))
  const conf = writeNginxConf(dir, templateSiteConfig(upstreams, `127.0.0.1:${port}`), {
    accessLog,
  })
  const child = spawn(binary, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  void exited.then(() => running.delete(child))
  const url = `http://127.0.0.1:${port}`
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'logs', 'error.log'), 'utf8')
    } catch {
      return ''
    }
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = errorLog()
      await stop()
      throw new Error(`nginx exited: ${output}${log}`)
    }
    try {
      await fetch(`${url}/healthz`)
      break
    } catch {
      if (i > 100) {
        const log = errorLog()
        await stop()
        throw new Error(`nginx did not answer within 10 s: ${output}${log}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { pid: child.pid, url, dir, child, errorLog, stop }
}
