import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
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

/**
 * Every file of a Vite build (the dashboard's, the career hub's), by its path inside the build;
 * undefined when the folder holds no `index.html` (not built). A build is a few files, read once
 * at start, so no request touches the disk and no request path ever reaches `join`.
 *
 * @example
 *   const assets = readStaticBuild('admin/dist')  // Map { 'index.html' → …, 'assets/index-abc.js' → … }
 */
export function readStaticBuild(dir: string): Map<string, StaticAsset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined
  const assets = new Map<string, StaticAsset>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = join(entry.parentPath, entry.name)
    const type = TYPES[extname(file)]
    if (!type) continue
    const body = readFileSync(file)
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    assets.set(relative(dir, file).split(sep).join('/'), { body, type, etag })
  }
  return assets
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
