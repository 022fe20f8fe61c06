/** Types of nginx.js (plain JS, so the bench runs it as is; the tests import it through these). */
import type { ChildProcess } from 'node:child_process'

export const NGINX_CONF: string

export function nginxBinary(): string | undefined

export function templateSiteConfig(upstreams: string[], listen: string): string

export function writeNginxConf(dir: string, site: string, options?: { accessLog?: boolean }): string

export function testNginxConf(
  binary: string,
  dir: string,
  conf: string,
): { code: number | null; output: string }

export interface NginxProcess {
  pid: number | undefined
  url: string
  /** The temp directory of its config and logs (`logs/access.log` with `accessLog`). */
  dir: string
  child: ChildProcess
  errorLog(): string
  stop(): Promise<void>
}

export function startNginx(options: {
  binary: string
  /** host:port of each node. */
  upstreams: string[]
  /** Listens on 127.0.0.1:port. */
  port: number
  accessLog?: boolean
}): Promise<NginxProcess>
