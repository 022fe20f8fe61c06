/**
 * The raw floor of the files scenarios: a bare node:http server that streams an upload body to
 * disk, streams a file back, and answers one fixed small file from memory (what a cached
 * thumbnail is at best). No parsing, no checks, no database.
 */
import { createReadStream, createWriteStream, mkdtempSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

const dir = mkdtempSync(join(tmpdir(), 'er-files-floor-'))
const file = join(dir, 'upload.bin')
let thumb = Buffer.alloc(0)

const server = createServer(async (req, res) => {
  if (req.method === 'POST' && req.url === '/upload') {
    await pipeline(req, createWriteStream(file))
    res.writeHead(201).end('{}')
  } else if (req.method === 'PUT' && req.url === '/thumb') {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    thumb = Buffer.concat(chunks)
    res.writeHead(204).end()
  } else if (req.url === '/file') {
    res.writeHead(200, { 'content-length': statSync(file).size })
    await pipeline(createReadStream(file), res)
  } else if (req.url === '/thumb') {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': thumb.length }).end(thumb)
  } else res.writeHead(404).end()
})
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port, dir })
})
