import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { assertBlobKey, type BlobInfo, type BlobRange, type BlobStore } from '../blobs.js'

/** `ER_S3_*`: any S3-compatible service. */
export interface S3BlobOptions {
  bucket: string
  region: string
  /** `https://…` for MinIO, R2, Ceph …; AWS's own endpoint when absent. */
  endpoint?: string | undefined
  accessKeyId: string
  secretAccessKey: string
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted services need. */
  forcePathStyle: boolean
  /** Prepended to every key (`engineroom/`), so one bucket can hold several deployments. */
  prefix: string
}

/**
 * Part size of streamed uploads: S3 needs at least 5 MiB per part; with two parts in flight an
 * upload of any size holds about 16 MiB.
 */
const PART_SIZE = 8 * 1024 * 1024
const PARTS_IN_FLIGHT = 2

/**
 * Blobs in an S3 bucket through the AWS SDK. Uploads stream as multipart uploads (lib-storage),
 * downloads stream the object body, ranges are passed to S3 as they are. A failed upload is
 * aborted, so no partial object is ever visible.
 *
 * @example
 *   const blobs = openS3Blobs({ bucket: 'files', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000',
 *     accessKeyId: '…', secretAccessKey: '…', forcePathStyle: true, prefix: '' })
 */
export function openS3Blobs(options: S3BlobOptions): BlobStore {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  })
  const Bucket = options.bucket
  const keyOf = (key: string) => {
    assertBlobKey(key)
    return options.prefix + key
  }

  async function upload(key: string, body: Readable, contentType: string): Promise<void> {
    const job = new Upload({
      client,
      params: { Bucket, Key: keyOf(key), Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    })
    // lib-storage does not watch the source for errors: a failed body must abort the upload.
    const failed = new Promise<never>((_, reject) => body.once('error', reject))
    failed.catch(() => {})
    try {
      await Promise.race([job.done(), failed])
    } catch (error) {
      await job.abort().catch(() => {})
      throw error
    }
  }

  return {
    kind: 's3',
    put: (key, body, { contentType }) => upload(key, body, contentType),
    putFile: (key, path, { contentType }) => upload(key, createReadStream(path), contentType),
    async get(key, range?: BlobRange) {
      try {
        const result = await client.send(
          new GetObjectCommand({
            Bucket,
            Key: keyOf(key),
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        )
        return result.Body as Readable
      } catch (error) {
        if (isMissing(error)) return undefined
        throw error
      }
    },
    async stat(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }))
        return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) }
      } catch (error) {
        if (isMissing(error)) return undefined
        throw error
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }))
    },
    async deletePrefix(prefix) {
      assertBlobKey(prefix, true)
      let count = 0
      let batch: string[] = []
      const flush = async () => {
        if (batch.length === 0) return
        await client.send(
          new DeleteObjectsCommand({
            Bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        )
        count += batch.length
        batch = []
      }
      for await (const info of listRaw(options.prefix + prefix)) {
        batch.push(options.prefix + info.key)
        if (batch.length === 1000) await flush()
      }
      await flush()
      return count
    },
    list(prefix) {
      assertBlobKey(prefix, true)
      return listRaw(options.prefix + prefix)
    },
    async ping() {
      await client.send(new HeadBucketCommand({ Bucket }))
    },
    async close() {
      client.destroy()
    },
  }

  /** Objects under a full key prefix, with the deployment prefix taken off their keys. */
  async function* listRaw(fullPrefix: string): AsyncGenerator<BlobInfo> {
    let token: string | undefined
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: fullPrefix, ContinuationToken: token }),
      )
      for (const item of page.Contents ?? []) {
        if (!item.Key) continue
        yield {
          key: item.Key.slice(options.prefix.length),
          size: item.Size ?? 0,
          modified: item.LastModified ?? new Date(0),
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }
}

function isMissing(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' ||
      error.name === 'NotFound' ||
      error.$metadata.httpStatusCode === 404)
  )
}
