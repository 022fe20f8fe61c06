/**
 * The files scenarios: upload and download MB/s through `engineroom serve` (multipart in, ranged
 * stream out, local disk) against a bare node:http server streaming to and from disk; thumbnail
 * requests/s cold (each a first request: decode, resize, encode, store) against sharp resizing
 * the same images in this process, and cached against the floor answering the same bytes.
 *
 *   npm run build && BENCH_ONLY=files node --expose-gc bench/run.js
 *   npm run build && node bench/files.js          (this scenario alone)
 */
import { execFileSync, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import sharp from 'sharp'
import { SERVE_NODE_ARGS, spawnServe, treeStats } from './serve-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const CLI = join(here, '..', 'dist', 'cli', 'main.js')
const MB = 1024 * 1024

/** Streams `size` bytes as the body of a request, one reused 1 MiB chunk at a time. */
async function* bytes(size, head = Buffer.alloc(0), tail = Buffer.alloc(0)) {
  const chunk = Buffer.alloc(MB, 0x61)
  yield head
  for (let sent = 0; sent < size; sent += MB)
    yield size - sent >= MB ? chunk : chunk.subarray(0, size - sent)
  yield tail
}

async function upload(url, headers, size, multipart) {
  const boundary = 'er-bench-boundary'
  const head = multipart
    ? Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="clip"; filename="b.bin"\r\n\r\n`,
      )
    : Buffer.alloc(0)
  const tail = multipart ? Buffer.from(`\r\n--${boundary}--\r\n`) : Buffer.alloc(0)
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      ...headers,
      'content-length': String(head.length + size + tail.length),
      'content-type': multipart
        ? `multipart/form-data; boundary=${boundary}`
        : 'application/octet-stream',
    },
    body: ReadableStream.from(bytes(size, head, tail)),
    duplex: 'half',
  })
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`)
  return res.json()
}

async function download(url) {
  const res = await fetch(url)
  let n = 0
  for await (const chunk of res.body) n += chunk.length
  return n
}

async function rate(times, work) {
  const started = performance.now()
  let amount = 0
  for (let i = 0; i < times; i++) amount += await work(i)
  return amount / ((performance.now() - started) / 1000)
}

/** req/s under autocannon, and the CPU µs per request of the process tree `pid` heads. */
async function cannon(url, seconds, connections, pid) {
  const before = treeStats(pid).cpu
  const result = await autocannon({ url, duration: seconds, connections })
  const after = treeStats(pid).cpu
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers`)
  const micros = after.user + after.system - before.user - before.system
  return { perSecond: result.requests.average, cpuMicros: micros / result.requests.total }
}

/** Runs the scenarios; returns rows `{ name, engine, floor, unit }`. */
export async function measureFiles(settings = {}) {
  const quick = settings.quick ?? process.env.BENCH_QUICK === '1'
  const seconds = settings.seconds ?? (quick ? 2 : 8)
  const size = (quick ? 16 : 64) * MB
  const rounds = quick ? 2 : 4
  const images = quick ? 8 : 24
  const dir = mkdtempSync(join(tmpdir(), 'er-bench-files-'))
  const env = { ...process.env, ER_DIR: dir, ER_LOG_LEVEL: 'warn' }
  execFileSync(
    process.execPath,
    [CLI, 'superuser', 'create', 'bench@example.com', 'bench password 1'],
    {
      env,
      stdio: 'ignore',
    },
  )
  const floorChild = fork(join(here, 'files-floor.js'), { stdio: 'ignore' })
  const floorInfo = await new Promise((resolve) => floorChild.once('message', resolve))
  const floor = `http://127.0.0.1:${floorInfo.port}`
  process.env.ER_FILES_MAX_REQUEST_SIZE = String(size + MB)
  // `BENCH_PROF=<dir>`: a .cpuprofile of `serve`, written when it exits (open in DevTools).
  const profileDir = settings.profileDir ?? process.env.BENCH_PROF
  const nodeArgs = profileDir
    ? [...SERVE_NODE_ARGS, '--cpu-prof', '--cpu-prof-dir', profileDir]
    : SERVE_NODE_ARGS
  const serve = await spawnServe({ dir, nodeArgs })
  delete process.env.ER_FILES_MAX_REQUEST_SIZE
  try {
    const login = await fetch(`${serve.url}/api/collections/_superusers/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'bench@example.com', password: 'bench password 1' }),
    }).then((r) => r.json())
    const auth = { authorization: `Bearer ${login.token}` }
    const made = await fetch(`${serve.url}/api/collections`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'media',
        rules: { list: '', view: '', create: '', update: '', delete: '' },
        fields: [
          { name: 'clip', type: 'file', maxSize: size + MB },
          {
            name: 'photo',
            type: 'file',
            mimeTypes: ['image/jpeg'],
            thumbs: ['200x200'],
            maxSize: 8 * MB,
          },
        ],
      }),
    })
    if (made.status !== 201) throw new Error(`collection: ${made.status} ${await made.text()}`)
    const records = `${serve.url}/api/collections/media/records`
    const rows = []

    // Upload and download, MB/s.
    let last
    const engineUp = await rate(rounds, async () => {
      last = await upload(records, auth, size, true)
      return size / MB
    })
    const floorUp = await rate(rounds, async () => {
      await upload(`${floor}/upload`, {}, size, false)
      return size / MB
    })
    rows.push({ name: `upload ${size / MB} MB`, engine: engineUp, floor: floorUp, unit: 'MB/s' })
    const fileUrl = `${serve.url}/api/files/media/${last.id}/${last.clip}`
    const engineDown = await rate(rounds, async () => (await download(fileUrl)) / MB)
    const floorDown = await rate(rounds, async () => (await download(`${floor}/file`)) / MB)
    rows.push({
      name: `download ${size / MB} MB`,
      engine: engineDown,
      floor: floorDown,
      unit: 'MB/s',
    })

    // Thumbnails: cold (first request of each) against sharp alone, cached against the floor.
    const photo = await sharp({
      create: {
        width: 1600,
        height: 1200,
        channels: 3,
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .jpeg({ quality: 85 })
      .toBuffer()
    const urls = []
    for (let i = 0; i < images; i++) {
      const form = new FormData()
      form.append('photo', new Blob([photo], { type: 'image/jpeg' }), `p${i}.jpg`)
      const res = await fetch(records, { method: 'POST', headers: auth, body: form })
      const record = await res.json()
      urls.push(`${serve.url}/api/files/media/${record.id}/${record.photo}?thumb=200x200`)
    }
    const coldEngine = await rate(1, async () => {
      await Promise.all(
        [0, 1, 2, 3].map(async (lane) => {
          for (let i = lane; i < urls.length; i += 4) {
            const res = await fetch(urls[i])
            if (res.status !== 200) throw new Error(`thumb: ${res.status}`)
            await res.arrayBuffer()
          }
        }),
      )
      return urls.length
    })
    const coldFloor = await rate(1, async () => {
      await Promise.all(
        [0, 1, 2, 3].map(async (lane) => {
          for (let i = lane; i < images; i += 4)
            await sharp(photo)
              .resize({ width: 200, height: 200, fit: 'cover' })
              .jpeg({ quality: 80 })
              .toBuffer()
        }),
      )
      return images
    })
    rows.push({
      name: 'thumbnail cold (1600x1200 → 200x200)',
      engine: coldEngine,
      floor: coldFloor,
      unit: 'req/s',
    })
    const thumb = Buffer.from(await (await fetch(urls[0])).arrayBuffer())
    await fetch(`${floor}/thumb`, { method: 'PUT', body: thumb })
    const cachedEngine = await cannon(urls[0], seconds, 10, serve.rootPid)
    const cachedFloor = await cannon(`${floor}/thumb`, seconds, 10, floorChild.pid)
    rows.push({
      name: 'thumbnail cached',
      engine: cachedEngine.perSecond,
      floor: cachedFloor.perSecond,
      unit: 'req/s',
      cpuMicros: { engine: cachedEngine.cpuMicros, floor: cachedFloor.cpuMicros },
    })
    return rows
  } finally {
    await serve.close()
    floorChild.kill()
    rmSync(dir, { recursive: true, force: true })
    rmSync(floorInfo.dir, { recursive: true, force: true })
  }
}

/** Prints the rows as a table with the engine/floor ratio. */
export function printFiles(rows) {
  console.log(
    '\nFiles (engine = engineroom serve, local disk; floor = bare node:http / sharp alone)',
  )
  console.log('| scenario | engine | floor | engine/floor | CPU µs/req engine / floor |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const row of rows) {
    const f = (n) => `${n.toFixed(1)} ${row.unit}`
    const cpu = row.cpuMicros
      ? `${row.cpuMicros.engine.toFixed(0)} / ${row.cpuMicros.floor.toFixed(0)}`
      : ''
    console.log(
      `| ${row.name} | ${f(row.engine)} | ${f(row.floor)} | ${(row.engine / row.floor).toFixed(2)} | ${cpu} |`,
    )
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printFiles(await measureFiles())
}
