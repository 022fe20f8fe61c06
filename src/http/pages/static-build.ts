import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import type { FastifyReply } from 'fastify'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
}

export interface StaticAsset {
  body: Buffer
  type: string
  etag: string
}

/** One file of a build: its bytes are read at the first request for it, then kept. */
export interface StaticFile {
  /** The asset; undefined when the file is gone since the server started (a rebuild in place). */
  load(): Promise<StaticAsset | undefined>
}

/**
 * Every file of a Vite build (the dashboard's, the career hub's), by its path inside the build;
 * undefined when the folder holds no `index.html` (not built). The listing is read at start, so
 * no request path ever reaches `join`; each file's bytes are read at its first request and kept,
 * so a server nobody opens the dashboard of does not hold its 1.5 MB (the GraphQL explorer alone
 * is half of it).
 *
 * @example
 *   const assets = readStaticBuild('admin/dist')  // Map { 'index.html' → …, 'assets/index-abc.js' → … }
 *   const asset = await assets?.get('index.html')?.load()
 */
export function readStaticBuild(dir: string): Map<string, StaticFile> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined
  const files = new Map<string, StaticFile>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    const type = TYPES[extname(file)]
    if (!type) continue
    files.set(relative(dir, file).split(sep).join('/'), lazyAsset(file, type))
  }
  return files
}

function lazyAsset(file: string, type: string): StaticFile {
  let loaded: Promise<StaticAsset | undefined> | undefined
  return {
    load() {
      loaded ??= readFile(file).then(
        (body) => {
          const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
          return { body, type, etag }
        },
        () => {
          // Not kept: the next request looks again.
          loaded = undefined
          return undefined
        },
      )
      return loaded
    },
  }
}

/** A hashed asset, cached for a year (Vite puts a content hash in every asset name). */
export function sendHashedAsset(
  reply: FastifyReply,
  asset: StaticAsset,
  ifNoneMatch: string | undefined,
): FastifyReply {
  reply.type(asset.type).header('etag', asset.etag)
  reply.header('cache-control', 'public, max-age=31536000, immutable')
  if (ifNoneMatch === asset.etag) return reply.code(304).send()
  return reply.send(asset.body)
}
