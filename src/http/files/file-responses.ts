import type { FastifyReply, FastifyRequest } from 'fastify'
import { EngineError } from '../../core/errors/index.js'
import type { Download } from '../../services/files/file-downloads.js'

/**
 * Types a browser may render from our origin. Everything else — HTML, SVG, XML, JavaScript, PDF
 * and unknown binaries — is sent as an attachment: a stored file opened by a victim must never
 * run script as this origin (stored XSS). Every file answer also carries a sandboxing CSP.
 */
const INLINE =
  /^(image\/(png|jpeg|gif|webp|avif|bmp|tiff|heic|heif|x-icon)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|text\/plain)$/

/** Headers for file answers, replacing the API's: embeddable by other origins, never scriptable. */
const FILE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
}

/** An inclusive byte range, or why the `Range` header was set aside. */
type RangeResult = { start: number; end: number } | 'none' | 'unsatisfiable'

/**
 * RFC 9110 §14: one `bytes=` range (`a-b`, `a-`, `-n`). Several ranges, or a header that does not
 * parse, are ignored (the whole file is sent), as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return 'none'
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return 'none'
  let start: number
  let end: number
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(match[1])
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
    if (match[2] !== '' && Number(match[2]) < start) return 'none'
  }
  if (start >= size || size === 0) return 'unsatisfiable'
  return { start, end }
}

/** RFC 6266 with RFC 8187's `filename*` (the stored names are ASCII already). */
function disposition(kind: 'inline' | 'attachment', filename: string): string {
  return `${kind}; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}

/**
 * Sends a download: conditional (`If-None-Match` → 304), ranged (`Range` → 206 / 416, honouring
 * `If-Range`), with a strong ETag and caching for immutable names (names never get new content:
 * a replaced file gets a new name).
 */
export async function sendDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  file: Download,
  forceAttachment: boolean,
): Promise<FastifyReply> {
  const ifRange = request.headers['if-range']
  const range =
    ifRange === undefined || ifRange === file.etag
      ? parseRange(request.headers.range, file.size)
      : 'none'
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.size}`)
    throw new EngineError(
      'ER_FILE_RANGE_INVALID',
      `The file has ${file.size} bytes; the range asked for is outside them.`,
    )
  }
  const inline = !forceAttachment && INLINE.test(file.mime)
  reply.headers(FILE_HEADERS)
  reply.header(
    'content-type',
    file.mime.startsWith('text/') ? `${file.mime}; charset=utf-8` : file.mime,
  )
  reply.header('content-disposition', disposition(inline ? 'inline' : 'attachment', file.filename))
  reply.header('etag', file.etag)
  reply.header('accept-ranges', 'bytes')
  reply.header(
    'cache-control',
    file.private ? 'private, max-age=600' : 'public, max-age=31536000, immutable',
  )
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag)) {
    return reply.status(304).send()
  }
  const status = range === 'none' ? 200 : 206
  if (range !== 'none')
    reply.header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
  reply.header('content-length', String(range === 'none' ? file.size : range.end - range.start + 1))
  if (request.method === 'HEAD') {
    // Fastify would send `content-length: 0` for an empty HEAD body; the file's length is the answer.
    reply.hijack()
    reply.raw.writeHead(status, reply.getHeaders() as Record<string, string>)
    reply.raw.end()
    return reply
  }
  if (file.bytes) {
    return reply
      .status(status)
      .send(range === 'none' ? file.bytes : file.bytes.subarray(range.start, range.end + 1))
  }
  return reply.status(status).send(await file.open(range === 'none' ? undefined : range))
}
