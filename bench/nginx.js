/**
 * nginx from Debian in front of `serve` processes, for the cluster scenario: the shipped
 * deploy/nginx/engineroom.conf with its upstream servers and listen address replaced (the file
 * names compose's hosts `engine1:8090`…), inside a main config whose paths are all in a temp
 * directory. test/helpers/nginx.ts does the same for the cluster test; this is its plain-JS
 * twin, so the bench needs no test code. The access log is off: the nodes log nothing per
 * request either (log level `warn`), and neither should pay for it in the figures.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NGINX_CONF = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'deploy',
  'nginx',
  'engineroom.conf',
)
const UPSTREAM_SERVER = /^(\s*)server\s+engine\d+:8090\b([^;]*);\s*$/gm
const LISTEN = /^(\s*)listen\s+80;\s*$/m
const running = new Set()

// The bench's exit path (an error, Ctrl-C): SIGTERM is nginx's fast stop, and its master stops
// its workers (a SIGKILLed master would leave them serving).
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGTERM')
})

/** The nginx binary (Debian puts it in /usr/sbin), or undefined when it is not installed. */
export function nginxBinary() {
  return ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((path) =>
    existsSync(path),
  )
}

/** The shipped site config with `upstreams` (host:port each) and `listen` put in. */
function siteConfig(upstreams, listen) {
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

function writeMainConfig(dir, site) {
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
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${join(dir, kind)};`,
      ),
      `  include ${join(dir, 'engineroom.conf')};`,
      '}',
      '',
    ].join('\n'),
  )
  return conf
}

/**
 * Starts nginx in the foreground on 127.0.0.1:`port` in front of `upstreams` and resolves once
 * it answers `/healthz`, with its pid, url and `stop()` (graceful, then forced).
 */
export async function startNginx({ binary, upstreams, port }) {
  const dir = mkdtempSync(join(tmpdir(), 'engineroom-bench-nginx-'))
  const conf = writeMainConfig(dir, siteConfig(upstreams, `127.0.0.1:${port}`))
  const child = spawn(binary, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  void exited.then(() => running.delete(child))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGQUIT: finish the requests in flight; SIGTERM after 5 s.
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`nginx exited: ${output}`)
    }
    try {
      await fetch(`${url}/healthz`)
      break
    } catch {
      if (i > 100) {
        await stop()
        throw new Error(`nginx did not answer within 10 s: ${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { pid: child.pid, url, stop }
}
