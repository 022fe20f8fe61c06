/**
 * An S3-compatible server on loopback for the tests (s3rver, from npm), driven by the real AWS
 * SDK through the engine's S3 adapter. Its objects live in a temporary folder removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

export interface S3Server {
  endpoint: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  close(): Promise<void>
}

export async function startS3Server(bucket = 'engineroom-test'): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'er-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  })
  const address = (await server.run()) as { port: number }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async close() {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
