/**
 * A test engine with file storage: local disk under its temporary folder, or S3 on an s3rver
 * started for the suite. Also small file fixtures (images, an ELF binary, a decompression bomb).
 */
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import sharp from 'sharp'
import { openLocalBlobs } from '../../src/adapters/blobs/local/local-blobs.js'
import { openS3Blobs } from '../../src/adapters/blobs/s3/s3-blobs.js'
import type { BlobStore } from '../../src/adapters/blobs/blobs.js'
import type { FileLimits } from '../../src/services/files/files-service.js'
import type { DialectName } from './dialects.js'
import type { S3Server } from './s3-server.js'
import { createTestEngine, type TestEngine } from './test-engine.js'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { randomBytes } from 'node:crypto'

export type StorageName = 'local' | 's3'

export async function createFilesTestEngine(
  dialect: DialectName,
  storage: StorageName,
  s3: S3Server | undefined,
  limits: Partial<FileLimits> = {},
  /** Server options (a logger, …) for `createTestEngine`. */
  server: Omit<NonNullable<Parameters<typeof createTestEngine>[1]>, 'engine'> = {},
): Promise<TestEngine & { blobs: BlobStore }> {
  const scratch = mkdtempSync(join(tmpdir(), 'er-files-'))
  const blobs =
    storage === 's3' && s3
      ? openS3Blobs({
          bucket: s3.bucket,
          region: 'us-east-1',
          endpoint: s3.endpoint,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          forcePathStyle: true,
          // Each engine its own corner of the shared bucket.
          prefix: `t${randomBytes(4).toString('hex')}/`,
        })
      : await openLocalBlobs({ root: join(scratch, 'storage') })
  const test = await createTestEngine(dialect, {
    ...server,
    engine: {
      files: { blobs, uploadsDir: join(scratch, 'uploads'), limits, housekeepingMs: 0 },
    },
  })
  return { ...test, blobs }
}

/** A real PNG (or JPEG) of the given size, noisy so that it does not compress to nothing. */
export function imageFile(width: number, height: number, format: 'png' | 'jpeg' = 'png') {
  return sharp({
    create: { width, height, channels: 3, background: { r: 200, g: 80, b: 20 } },
  })
    .toFormat(format)
    .toBuffer()
}

/** A 1x1 PNG whose header claims `side`×`side` pixels: tiny on the wire, huge decoded. */
export async function decompressionBomb(side: number): Promise<Buffer> {
  const png = Buffer.from(await imageFile(1, 1))
  // IHDR is the first chunk: length(4) 'IHDR'(4) width(4) height(4) … crc(4), after the 8-byte signature.
  png.writeUInt32BE(side, 16)
  png.writeUInt32BE(side, 20)
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29)
  return png
}

/** The start of an ELF executable (what file-type recognises), padded. */
export function elfBinary(): Buffer {
  const header = Buffer.alloc(4096)
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(header)
  header.writeUInt16LE(2, 16) // e_type: executable
  header.writeUInt16LE(0x3e, 18) // e_machine: x86-64
  return header
}

/** A multipart body (as a browser or curl builds it) from fields and files. */
export function multipartBody(
  parts: (
    | { name: string; value: string }
    | { name: string; filename: string; content: Buffer; type?: string }
  )[],
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----er${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`))
    if ('filename' in part) {
      chunks.push(
        Buffer.from(
          `content-disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\ncontent-type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        part.content,
        Buffer.from('\r\n'),
      )
    } else {
      chunks.push(
        Buffer.from(`content-disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`),
      )
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  }
}

/** Every blob key in the store. */
export async function blobKeys(blobs: BlobStore): Promise<string[]> {
  const keys: string[] = []
  for await (const blob of blobs.list('')) keys.push(blob.key)
  return keys.sort()
}
