/** A real HTTP receiver on loopback that records what it gets and answers as told. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  headers: IncomingHttpHeaders
  body: string
  url: string
}

export interface Receiver {
  url: string
  received: Received[]
  /** Status to answer for the n-th request (0-based); default 200. */
  answer: (n: number, request: Received) => { status: number; headers?: Record<string, string> }
  close(): Promise<void>
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const received: Received[] = []
  const receiver: Receiver = {
    url: '',
    received,
    answer: () => ({ status: 200 }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (c: Buffer) => chunks.push(c))
    request.on('end', () => {
      const entry = {
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        url: request.url ?? '',
      }
      const { status, headers } = receiver.answer(received.length, entry)
      received.push(entry)
      response.writeHead(status, { 'content-type': 'text/plain', ...headers })
      response.end(status < 300 ? 'ok' : `failure ${status}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  receiver.url = `http://${host}:${(server.address() as AddressInfo).port}`
  return receiver
}
