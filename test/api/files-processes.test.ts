/**
 * Files through a real server process: a 200 MB multipart upload streamed with the process's
 * resident memory measured, and a tus upload cut off midway and resumed with tus-js-client.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { readFileSync } from 'node:fs'
import * as tus from 'tus-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  loginSuperuser,
  runCli,
  startServerProcess,
  type ServerProcess,
} from '../helpers/server-process.js'

const MB = 1024 * 1024

/** The child's resident set size in bytes (Linux). */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

describe('files through a server process (SQLite, local disk)', () => {
  let dir: string
  let server: ServerProcess
  let token: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'er-files-proc-'))
    const env = {
      ER_DIR: dir,
      ER_FILES_MAX_REQUEST_SIZE: String(300 * MB),
      ER_RATE_LIMIT_WRITE: 'off',
      ER_RATE_LIMIT_READ: 'off',
      ER_REQUEST_TIMEOUT: '600000',
      // As `npm start` runs the server (see README, Memory).
      NODE_OPTIONS: '--max-semi-space-size=8',
    }
    expect(
      runCli(['superuser', 'create', 'root@example.com', 'correct horse battery'], env).code,
    ).toBe(0)
    server = await startServerProcess([], env)
    token = await loginSuperuser(server.url, 'root@example.com', 'correct horse battery')
    const res = await fetch(`${server.url}/api/collections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'videos',
        fields: [
          { name: 'title', type: 'text' },
          { name: 'clip', type: 'file', maxSize: 300 * MB },
        ],
      }),
    })
    expect(res.status, await res.text()).toBe(201)
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('streams a 200 MB upload, adding less than 64 MB to the server RSS', async () => {
    const size = 200 * MB
    const boundary = 'er-boundary-200mb'
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="title"\r\n\r\nbig\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="clip"; filename="big.bin"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    )
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const chunk = Buffer.alloc(MB, 0x5a)
    let peak = 0
    const pid = server.child.pid as number
    const baseline = rssOf(pid)
    const body = Readable.from(
      (async function* () {
        yield head
        for (let sent = 0; sent < size; sent += MB) {
          yield chunk
          if (sent % (8 * MB) === 0) peak = Math.max(peak, rssOf(pid))
        }
        yield tail
      })(),
    )
    const res = await fetch(`${server.url}/api/collections/videos/records`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
      },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit)
    peak = Math.max(peak, rssOf(pid))
    expect(res.status, await res.clone().text()).toBe(201)
    const record = (await res.json()) as { id: string; clip: string }
    const head200 = await fetch(`${server.url}/api/files/videos/${record.id}/${record.clip}`, {
      method: 'HEAD',
    })
    expect(head200.headers.get('content-length')).toBe(String(size))
    const figures = `baseline ${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB`
    expect(peak, figures).toBeGreaterThan(0)
    // Streaming: the upload adds a bounded amount whatever its size (buffers, not the file).
    // No absolute bound here: this server runs from source through tsx, whose transpiler adds
    // about 40 MB to the RSS of the built server that `npm start` runs (129 MB idle).
    expect(peak - baseline, figures).toBeLessThan(64 * MB)
  }, 300_000)

  it('resumes an interrupted tus upload and attaches it to a record', async () => {
    const size = 12 * MB
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i += 4096) data.writeUInt32BE(i, i)
    const options = {
      endpoint: `${server.url}/api/files/uploads/`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { collection: 'videos', field: 'clip', filename: 'resumed.bin' },
      chunkSize: 4 * MB,
      retryDelays: [],
      storeFingerprintForResuming: false,
    }
    // First attempt: stopped after its first chunk is acknowledged.
    let uploadUrl = ''
    await new Promise<void>((done, fail) => {
      const upload = new tus.Upload(data, {
        ...options,
        onChunkComplete: (_chunk, accepted) => {
          if (accepted >= 4 * MB) {
            uploadUrl = upload.url ?? ''
            void upload.abort().then(done)
          }
        },
        onError: fail,
        onSuccess: () => fail(new Error('should have been interrupted')),
      })
      upload.start()
    })
    expect(uploadUrl).toMatch(/\/api\/files\/uploads\/[0-9a-f]+$/)
    const head = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' },
    })
    const offset = Number(head.headers.get('upload-offset'))
    expect(offset).toBeGreaterThanOrEqual(4 * MB)
    expect(offset).toBeLessThan(size)
    // Somebody else's token cannot continue it.
    const stranger = await fetch(uploadUrl, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0' },
    })
    expect(stranger.status).toBe(401)
    // Second attempt: resumes from the server's offset, sending only the rest.
    let firstOffset = -1
    await new Promise<void>((done, fail) => {
      const upload = new tus.Upload(data, {
        ...options,
        uploadUrl,
        onProgress: (sent) => {
          if (firstOffset < 0) firstOffset = sent
        },
        onError: fail,
        onSuccess: () => done(),
      })
      upload.start()
    })
    expect(firstOffset).toBeGreaterThanOrEqual(offset)
    const id = uploadUrl.split('/').pop() as string
    const res = await fetch(`${server.url}/api/collections/videos/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'resumed', clip: `tus:${id}` }),
    })
    expect(res.status, await res.clone().text()).toBe(201)
    const record = (await res.json()) as { id: string; clip: string }
    expect(record.clip).toMatch(/^resumed_[a-z0-9]{10}\.bin$/)
    const file = await fetch(`${server.url}/api/files/videos/${record.id}/${record.clip}`)
    expect(Buffer.from(await file.arrayBuffer()).equals(data)).toBe(true)
    // The upload is consumed: it cannot be attached twice.
    const again = await fetch(`${server.url}/api/collections/videos/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'again', clip: `tus:${id}` }),
    })
    expect(again.status).toBe(400)
    expect(((await again.json()) as { code: string }).code).toBe('ER_FILE_UPLOAD_INVALID')
  }, 120_000)
})
